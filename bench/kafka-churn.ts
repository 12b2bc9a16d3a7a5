// Kafka leader churn: time from a churn step's request until the chosen replica leads (median,
// p99), and the producer's acknowledged throughput and p99 during churn vs the same time before.
// A 3-broker KRaft twin, topic orders (6 partitions, rf 3, min.isr 2), an idempotent acks=all
// producer at RATE/s (open model); BEFORE s of steady load, then CHURN s of churn every EVERY ms.
// Run: node bench/kafka-churn.ts [RATE=300] [CHURN_S=40] [EVERY_MS=1000]
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { SeededRandom } from '../core/random.ts';
import { sleep } from '../core/units.ts';
import { percentile } from '../core/thresholds.ts';
import { isVerifiable, leaderChurnInjector, type InjectionContext } from '../injectors/index.ts';
import { KafkaLoad } from '../load/index.ts';
import { twinUp, resolveTarget, KafkaCluster } from '../twin/index.ts';
import { benchLedger, median, report } from './lib.ts';

const rate = Number(process.argv[2] ?? 300);
const churnMs = Number(process.argv[3] ?? 40) * 1000;
const everyMs = Number(process.argv[4] ?? 1000);
const warmMs = 25_000; // JVM warm-up, not measured
const { runId, ledger, logDir } = benchLedger();
const twin = await twinUp({ backend: 'netns', services: [{ name: 'kafka', kind: 'kafka', replicas: 3, heapMb: 512, replicaLagMs: 10_000, topics: [{ name: 'orders', partitions: 6, replicationFactor: 3, minInsyncReplicas: 2 }] }] }, { runId, ledger, logDir });
const kafka = twin.of('kafka', KafkaCluster);
const runDir = join(logDir, 'run');
mkdirSync(join(runDir, 'logs'), { recursive: true });
const zero = Date.now();
const load = new KafkaLoad({ spec: { name: 'bench', kind: 'kafka', target: 'kafka', topic: 'orders', ratePerSec: rate, timeoutMs: 10_000, messageBytes: 100, executor: { kind: 'constant-arrival-rate' } }, install: kafka.install, bootstrap: kafka.bootstrap, partitions: 6, runId, clockZeroEpochMs: zero, runDir, ledger });
await sleep(warmMs + churnMs);
const random = new SeededRandom(7);
const context: InjectionContext = { runId, twin, ledger, random, faultIndex: 0, intervalMs: 1000, now: () => Date.now() - zero, resolve: (t, w, e) => resolveTarget(twin, t, random, w, e) };
const churnStart = Date.now() - zero;
const fault = await leaderChurnInjector.inject({ id: 'churn', type: 'leader-churn', service: 'kafka', topic: 'orders', everyMs, atMs: 0, durationMs: churnMs }, context);
await sleep(churnMs);
const evidence = isVerifiable(fault) ? await fault.verify() : [];
await fault.heal();
const churnEnd = Date.now() - zero;
await sleep(3000);
const result = await load.result();
const points = load.series();
load.close();
await twin.down();
ledger.close();

const took = evidence.map((e) => Number(/after (\d+) ms/.exec(e.detail)?.[1])).filter((v) => Number.isFinite(v));
const failed = evidence.filter((e) => !e.ok).length;
const produce = (name: string) => points.filter((p) => p.name === name && p.labels.op === 'produce');
const inWindow = (name: string, from: number, to: number) => produce(name).filter((p) => p.t > from && p.t <= to).map((p) => p.v);
const okPerSec = (from: number, to: number) => {
  const requests = inWindow('load_requests_per_sec', from, to);
  const errors = inWindow('load_errors_per_sec', from, to);
  return requests.reduce((a, b) => a + b, 0) / requests.length - errors.reduce((a, b) => a + b, 0) / Math.max(1, errors.length);
};
const beforeFrom = churnStart - churnMs;
process.stdout.write(`${took.length} churn steps (${failed} failed), every ${everyMs} ms, producer at ${rate}/s; acked ${result.ackedWrites}, lost ${result.lostWrites}, duplicated ${result.messages?.duplicated}, reordered ${result.messages?.reordered}\n`);
const before = okPerSec(beforeFrom, churnStart);
const during = okPerSec(churnStart, churnEnd);
const p99Before = median(inWindow('load_latency_p99_ms', beforeFrom, churnStart));
const p99During = median(inWindow('load_latency_p99_ms', churnStart, churnEnd));
report([
  { name: 'time to the new leader after a churn step, median', measured: median(took), unit: 'ms' },
  { name: 'time to the new leader after a churn step, p99', measured: percentile(took, 99), unit: 'ms' },
  { name: 'acknowledged produce/s before churn (mean of seconds)', measured: before, unit: '/s' },
  { name: 'acknowledged produce/s during churn (mean of seconds)', measured: during, unit: '/s' },
  { name: 'produce p99 per second before churn, median', measured: p99Before, unit: 'ms' },
  { name: 'produce p99 per second during churn, median', measured: p99During, unit: 'ms' },
]);
process.stdout.write(`throughput during/before: ${(during / before).toFixed(3)}; produce p99 during/before: ${(p99During / p99Before).toFixed(2)}\n`);
