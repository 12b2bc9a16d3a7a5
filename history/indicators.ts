import { parseLabelKey, QUERIES, type History } from './db.ts';

type Row = Record<string, string | number | bigint | null | Uint8Array>;

/**
 * The operations indicators of a governance dashboard, computed from history over a rolling
 * window (30 days): SLO attainment (runs whose availability and latency gates all passed, of the
 * runs that have such gates), detection coverage (faults that at least one of moat's detectors
 * caught, of all applied faults), MTTD (mean of each fault's fastest detection), mean recovery
 * time, and the gate pass rate per moat version (change safety).
 */
export interface Indicators {
  since: string;
  runs: number;
  sloAttainment: number | null;
  detectionCoverage: number | null;
  mttdMs: number | null;
  meanRecoveryMs: number | null;
  gatePassRateByVersion: { version: string; gates: number; passed: number; rate: number }[];
}

export function indicators(history: History, now = new Date(), days = 30): Indicators {
  const since = new Date(now.getTime() - days * 86_400_000).toISOString();
  const runs = history.db.prepare(QUERIES.since).all(since) as Row[];
  const metrics = history.db.prepare(QUERIES.metricsSince).all(since) as Row[];
  const gates = history.db.prepare(QUERIES.gatesSince).all(since) as Row[];
  // SLO: per run, every availability / latency gate passed
  const sloByRun = new Map<string, boolean>();
  for (const g of gates) {
    const gate = String(g.gate);
    if (!gate.startsWith('availability') && !gate.startsWith('latency_ms')) continue;
    const runId = String(g.run_id);
    sloByRun.set(runId, (sloByRun.get(runId) ?? true) && Number(g.ok) === 1);
  }
  const slo = [...sloByRun.values()];
  // faults: detected or not, and the fastest detection of each
  const detected = metrics.filter((m) => m.metric === 'fault_detected');
  const fastest = new Map<string, number>();
  for (const m of metrics) {
    if (m.metric !== 'ttd_ms' || m.value === null) continue;
    const labels = parseLabelKey(String(m.labels));
    if (labels.detector?.startsWith('alert:')) continue;
    const key = `${String(m.run_id)}|${labels.fault}`;
    fastest.set(key, Math.min(fastest.get(key) ?? Infinity, Number(m.value)));
  }
  const recoveries = metrics.filter((m) => m.metric === 'recovery_ms' && m.value !== null).map((m) => Number(m.value));
  const byVersion = new Map<string, { gates: number; passed: number }>();
  for (const g of gates) {
    const version = String(g.moat_version);
    const entry = byVersion.get(version) ?? { gates: 0, passed: 0 };
    entry.gates++;
    if (Number(g.ok) === 1) entry.passed++;
    byVersion.set(version, entry);
  }
  const mean = (values: number[]) => (values.length ? values.reduce((a, b) => a + b, 0) / values.length : null);
  return {
    since, runs: runs.length,
    sloAttainment: slo.length ? slo.filter(Boolean).length / slo.length : null,
    detectionCoverage: detected.length ? detected.filter((m) => Number(m.value) === 1).length / detected.length : null,
    mttdMs: mean([...fastest.values()]),
    meanRecoveryMs: mean(recoveries),
    gatePassRateByVersion: [...byVersion].map(([version, v]) => ({ version, ...v, rate: v.passed / v.gates })).sort((a, b) => a.version.localeCompare(b.version)),
  };
}
