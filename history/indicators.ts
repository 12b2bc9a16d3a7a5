import { QUERIES, type History } from './db.ts';

type Row = Record<string, string | number | bigint | null | Uint8Array>;

/**
 * The operations indicators of a governance dashboard, computed from history over a rolling
 * window (30 days): SLO attainment (runs whose availability and latency gates all passed, of the
 * runs that have such gates), detection coverage (faults that at least one of moat's detectors
 * caught, of all applied faults), MTTD (mean of each fault's fastest detection by moat's
 * detectors, recorded per run as `fastest_ttd_ms`), mean recovery
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
  // aggregated in SQL, so the cost stays flat in the number of runs the window holds
  const runs = Number((history.db.prepare(QUERIES.runsSince).get(since) as Row).n);
  const means = new Map((history.db.prepare(QUERIES.metricMeansSince).all(since) as Row[]).map((r) => [String(r.metric), Number(r.n) > 0 ? Number(r.mean) : null]));
  const slo = history.db.prepare(QUERIES.sloSince).get(since) as Row;
  const versions = history.db.prepare(QUERIES.gatesByVersionSince).all(since) as Row[];
  return {
    since, runs,
    sloAttainment: Number(slo.n) > 0 ? Number(slo.passed) / Number(slo.n) : null,
    detectionCoverage: means.get('fault_detected') ?? null,
    mttdMs: means.get('fastest_ttd_ms') ?? null,
    meanRecoveryMs: means.get('recovery_ms') ?? null,
    gatePassRateByVersion: versions.map((v) => ({ version: String(v.moat_version), gates: Number(v.gates), passed: Number(v.passed), rate: Number(v.passed) / Number(v.gates) })),
  };
}
