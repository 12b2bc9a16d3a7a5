// History at scale: 10,000 runs recorded one by one (journals of a fake-twin run of a leader
// isolation, each with its own id, seed, time and values), then the dashboard's run list and one
// scenario's trend page (1,000 runs) served over HTTP. Targets: recording a run < 50 ms (median and
// p99 printed); the run list and a trend chart over 1,000 runs in < 200 ms.
// Run: node bench/history-speed.ts [runs]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Journal } from '../core/journal.ts';
import { FakeClock, FakeTwin, parseScenario, runScenario } from '../runner/index.ts';
import { History, LiveFeed, startDashboard } from '../history/index.ts';
import { median, peakRssMiB, percentile } from './lib.ts';

const count = Number(process.argv[2] ?? 10_000);
const dir = mkdtempSync(join(tmpdir(), 'moat-bench-history-'));
try {
  const clock = new FakeClock();
  const template = await runScenario(parseScenario(`name: bench-history
twin: { services: { db: { kind: etcd, replicas: 3 } } }
observe: { bpf: [], prometheus: [] }
baseline: { warmup: 30s, detectors: [robust-z, mstl] }
faults: [{ id: cut, type: partition, mode: isolate, target: db.leader, at: 30s, duration: 20s }]
recovery: 10s
gates: { leader_election_ms: ["max < 1500"], recovery_ms: ["max < 5000"] }
`, 'bench.yaml'), { scenarioFile: 'bench.yaml', outDir: join(dir, 'runs'), stateDir: join(dir, 'state'), clock, seed: 1, twinUp: async (spec, o) => new FakeTwin(spec, o.runId, clock) });
  const history = History.open(join(dir, 'history.db'));
  const times: number[] = [];
  const scenarios = 10;
  for (let i = 0; i < count; i++) {
    const journal: Journal = structuredClone(template);
    journal.runId = (0x100000 + i).toString(16).slice(-6);
    journal.scenarioName = `bench-history-${i % scenarios}`;
    journal.seed = i;
    // every 10 minutes up to now, so the dashboard's 30-day indicators cover 4,320 of them
    journal.startedAt = new Date(Date.now() - (count - i) * 600_000).toISOString();
    journal.faults[0]!.recoveryMs = 2000 + ((i * 7919) % 1000);
    for (const d of journal.detections) d.ttdMs = d.ttdMs === null ? null : 1000 + ((i * 104_729) % 3000);
    const t0 = performance.now();
    history.record(journal, 'import');
    times.push(performance.now() - t0);
  }
  const sorted = [...times].sort((a, b) => a - b);
  process.stdout.write(`recorded ${count} runs: median ${median(times).toFixed(2)} ms, p99 ${percentile(sorted, 99).toFixed(2)} ms, max ${sorted[sorted.length - 1]!.toFixed(1)} ms per run (target < 50 ms: ratio ${(50 / median(times)).toFixed(1)} ${median(times) < 50 ? 'meets' : 'MISSES'}); database ${(history.db.prepare('SELECT COUNT(*) AS n FROM run_metrics').get() as { n: number }).n} metric rows\n`);
  const dashboard = await startDashboard({ history, live: new LiveFeed(), token: 'bench' });
  const fetchMs = async (path: string) => {
    const samples: number[] = [];
    let size = 0;
    for (let i = 0; i < 11; i++) {
      const t0 = performance.now();
      const body = await (await fetch(`${dashboard.url}${path}`)).text();
      samples.push(performance.now() - t0);
      size = body.length;
    }
    return { ms: median(samples.slice(1)), size };
  };
  const list = await fetchMs('/');
  const trend = await fetchMs(`/scenarios/bench-history-0`);
  const api = await fetchMs(`/api/trend?scenario=bench-history-0&metric=recovery_ms&labels=fault%3Dcut`);
  process.stdout.write(`dashboard with ${count} runs: run list ${list.ms.toFixed(1)} ms (${list.size} bytes), scenario trends over ${count / scenarios} runs ${trend.ms.toFixed(1)} ms (${trend.size} bytes, every metric's chart and regression test), one trend as JSON ${api.ms.toFixed(1)} ms; target < 200 ms: ${Math.max(list.ms, trend.ms) < 200 ? 'meets' : 'MISSES'} (ratio ${(200 / Math.max(list.ms, trend.ms)).toFixed(1)}); peak RSS ${peakRssMiB().toFixed(0)} MiB\n`);
  await dashboard.close();
  history.close();
} finally {
  if (process.env.KEEP) console.log(dir); else rmSync(dir, { recursive: true, force: true });
}
