// The built-in open-model generator against a real 3-member etcd cluster: puts only, at rising
// rates, 5 s per step, 3 steps per rate after a 3 s warm-up at 200/s. A rate is held when, in the
// median step, fewer than 1% of requests leave more than 10 ms after their due time and at least
// 99% of the due requests were sent. Run: node bench/generator-rate.ts [rate,rate,...] [repeats]
import { twinUp, EtcdCluster } from '../twin/index.ts';
import { EtcdKvLoad } from '../load/index.ts';
import { SeededRandom } from '../core/random.ts';
import { sleep } from '../core/units.ts';
import { benchLedger, percentile } from './lib.ts';
import { join } from 'node:path';

const rates = (process.argv[2] ?? '250,500,750,1000,1500,2000').split(',').map(Number);
const repeats = Number(process.argv[3] ?? 3);
const { runId, ledger, logDir } = benchLedger();
const twin = await twinUp({ backend: 'netns', services: [{ name: 'etcd', kind: 'etcd', replicas: 3, heartbeatMs: 100, electionMs: 1000, preVote: false }] }, { runId, ledger, logDir });
let held = 0;
try {
  await step(200, 3000, -1);
  for (const rate of rates) {
    const steps = [];
    for (let r = 0; r < repeats; r++) steps.push(await step(rate, 5000, r));
    steps.sort((a, b) => a.lateShare - b.lateShare);
    const mid = steps[steps.length >> 1]!;
    const ok = mid.lateShare < 0.01 && mid.sentShare >= 0.99;
    if (ok) held = Math.max(held, rate);
    process.stdout.write(`${String(rate).padStart(5)}/s median of ${repeats}: late >10 ms ${(mid.lateShare * 100).toFixed(2)}%, lag p99 ${mid.lagP99.toFixed(1)} ms ${ok ? 'held' : 'NOT held'}\n`);
  }
} finally {
  await twin.down();
  ledger.close();
}
process.stdout.write(`highest put rate held with < 1% of requests late by > 10 ms: ${held}/s\n`);

async function step(rate: number, durationMs: number, repeat: number) {
    const zero = performance.now();
    const load = new EtcdKvLoad({
      spec: { name: `r${rate}-${repeat + 1}`, kind: 'etcd-kv', target: 'etcd', ratePerSec: rate, mix: { put: 1, get: 0 }, timeoutMs: 2000, client: { balance: 'round-robin', requireLeader: false }, executor: { kind: 'constant-arrival-rate' } },
      endpoints: twin.of('etcd', EtcdCluster).endpoints, runId, random: new SeededRandom(rate), now: () => performance.now() - zero, ackFile: join(logDir, `acked-${rate}.jsonl`),
    });
    load.start();
    await sleep(durationMs);
    await load.stop();
    const result = await load.result();
    load.close();
    const records = load.records;
    const stats = {
      lateShare: records.filter((r) => r.lagMs > 10).length / Math.max(1, records.length),
      lagP99: percentile(records.map((r) => r.lagMs), 99),
      sentShare: records.length / ((rate * durationMs) / 1000),
    };
    if (repeat >= 0) {
      process.stdout.write(`  ${rate}/s step ${repeat + 1}: sent ${(stats.sentShare * 100).toFixed(1)}% of due, late >10 ms ${(stats.lateShare * 100).toFixed(2)}%, lag p99 ${stats.lagP99.toFixed(1)} ms, put p99 ${percentile(records.map((r) => r.latencyMs), 99).toFixed(1)} ms, errors ${records.filter((r) => !r.ok).length}, lost ${result.lostWrites}\n`);
    }
    return stats;
}
