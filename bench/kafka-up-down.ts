// Kafka twin up (3 KRaft brokers+controllers registered, an active controller, a 6-partition topic
// created with a full ISR) and down, median of N (default 3). Target: up under 30 s on 2 cores.
// Run: node bench/kafka-up-down.ts [N]
import { twinUp } from '../twin/index.ts';
import { benchLedger, median, report } from './lib.ts';

const runs = Number(process.argv[2] ?? 3);
const up: number[] = [];
const down: number[] = [];
for (let i = 0; i < runs; i++) {
  const { runId, ledger, logDir } = benchLedger();
  const t0 = performance.now();
  const twin = await twinUp({ backend: 'netns', services: [{ name: 'kafka', kind: 'kafka', replicas: 3, heapMb: 512, replicaLagMs: 10_000, topics: [{ name: 'orders', partitions: 6, replicationFactor: 3, minInsyncReplicas: 2 }] }] }, { runId, ledger, logDir });
  const t1 = performance.now();
  await twin.down();
  const t2 = performance.now();
  ledger.close();
  up.push(t1 - t0);
  down.push(t2 - t1);
  process.stdout.write(`run ${i + 1}: up ${(t1 - t0).toFixed(0)} ms, down ${(t2 - t1).toFixed(0)} ms\n`);
}
report([
  { name: `kafka twin up (3 brokers, topic in sync), median of ${runs}`, measured: median(up), target: 30_000, unit: 'ms' },
  { name: `kafka twin down, median of ${runs}`, measured: median(down), unit: 'ms' },
]);
