// Twin up (3 etcd members ready, leader elected) and down, median of N (default 5).
// Run: node bench/twin-up-down.ts [N]
import { twinUp } from '../twin/index.ts';
import { benchLedger, median, report } from './lib.ts';

const runs = Number(process.argv[2] ?? 5);
const up: number[] = [];
const down: number[] = [];
for (let i = 0; i < runs; i++) {
  const { runId, ledger, logDir } = benchLedger();
  const t0 = performance.now();
  const twin = await twinUp({ backend: 'netns', services: [{ name: 'etcd', kind: 'etcd', replicas: 3, heartbeatMs: 100, electionMs: 1000, preVote: false }] }, { runId, ledger, logDir });
  const t1 = performance.now();
  await twin.down();
  const t2 = performance.now();
  ledger.close();
  up.push(t1 - t0);
  down.push(t2 - t1);
  process.stdout.write(`run ${i + 1}: up ${(t1 - t0).toFixed(0)} ms, down ${(t2 - t1).toFixed(0)} ms\n`);
}
report([
  { name: `twin up, median of ${runs}`, measured: median(up), target: 3000, unit: 'ms' },
  { name: `twin down, median of ${runs}`, measured: median(down), target: 1000, unit: 'ms' },
]);
