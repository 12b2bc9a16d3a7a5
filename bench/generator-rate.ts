// The built-in open-model generator against a real 3-member etcd cluster: puts only, at rising
// rates, 5 s per step, 3 steps per rate after a 3 s warm-up at 200/s. A rate is held when, in the
// median step, fewer than 1% of requests leave more than 10 ms after their due time and at least
// 99% of the due requests were sent. Beside each rate: the generator's own CPU (the bench's main
// thread, where etcd's gRPC client runs) and etcd's (the three members' processes), as shares of
// one core, and the put p99, so the table says which side was the limit: a generator near a full
// core is the generator's limit; a put p99 that climbs while the generator has room is etcd's.
// Run: node bench/generator-rate.ts [rate,rate,...] [repeats] [channels per member]
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { twinUp, EtcdCluster } from '../twin/index.ts';
import { EtcdKvLoad } from '../load/index.ts';
import { SeededRandom } from '../core/random.ts';
import { sleep } from '../core/units.ts';
import { benchLedger, percentile, peakRssMiB } from './lib.ts';
import { join } from 'node:path';

const rates = (process.argv[2] ?? '250,500,1000,1500,2000,3000').split(',').map(Number);
const repeats = Number(process.argv[3] ?? 3);
const channels = Number(process.argv[4] ?? 2);
const { runId, ledger, logDir } = benchLedger();
const twin = await twinUp({ backend: 'netns', services: [{ name: 'etcd', kind: 'etcd', replicas: 3, heartbeatMs: 100, electionMs: 1000, preVote: false }] }, { runId, ledger, logDir });
const etcdPids = twin.of('etcd', EtcdCluster).members.map((m) => m.process.pid);
const ticksPerSecond = 100; // USER_HZ on Linux
const cores = availableParallelism();
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
    const limit = mid.generatorCpu > 0.85
      ? 'the generator is the limit'
      : mid.generatorCpu + mid.etcdCpu > 0.8 * cores ? `the machine's ${cores} cores are: etcd and the generator use ${Math.round(((mid.generatorCpu + mid.etcdCpu) / cores) * 100)}% of them`
        : mid.putP99 > 100 ? 'etcd is the limit' : 'neither is saturated';
    process.stdout.write(`${String(rate).padStart(5)}/s median of ${repeats}: late >10 ms ${(mid.lateShare * 100).toFixed(2)}%, lag p99 ${mid.lagP99.toFixed(1)} ms, put p99 ${mid.putP99.toFixed(1)} ms, generator CPU ${(mid.generatorCpu * 100).toFixed(0)}% of a core, etcd CPU ${(mid.etcdCpu * 100).toFixed(0)}% ${ok ? 'held' : 'NOT held'} (${limit})\n`);
  }
} finally {
  await twin.down();
  ledger.close();
}
process.stdout.write(`highest put rate held with < 1% of requests late by > 10 ms: ${held}/s (${channels} gRPC channels per member); peak RSS ${peakRssMiB().toFixed(0)} MiB\n`);

/** CPU seconds of a process so far (user + system), from /proc. */
function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond;
  } catch {
    return 0;
  }
}

async function step(rate: number, durationMs: number, repeat: number) {
  const zero = performance.now();
  const load = new EtcdKvLoad({
    spec: { name: `r${rate}-${repeat + 1}`, kind: 'etcd-kv', target: 'etcd', ratePerSec: rate, mix: { put: 1, get: 0 }, timeoutMs: 2000, client: { balance: 'round-robin', requireLeader: false, channels }, executor: { kind: 'constant-arrival-rate' } },
    endpoints: twin.of('etcd', EtcdCluster).endpoints, runId, random: new SeededRandom(rate), now: () => performance.now() - zero, ackFile: join(logDir, `acked-${rate}.jsonl`),
  });
  const etcdBefore = etcdPids.reduce((sum, pid) => sum + cpuSeconds(pid), 0);
  const cpuBefore = process.threadCpuUsage();
  const wallBefore = performance.now();
  load.start();
  await sleep(durationMs);
  await load.stop();
  const cpu = process.threadCpuUsage(cpuBefore);
  const wallS = (performance.now() - wallBefore) / 1000;
  const etcdCpu = (etcdPids.reduce((sum, pid) => sum + cpuSeconds(pid), 0) - etcdBefore) / wallS;
  const result = await load.result();
  load.close();
  const records = load.records;
  const stats = {
    lateShare: records.filter((r) => r.lagMs > 10).length / Math.max(1, records.length),
    lagP99: percentile(records.map((r) => r.lagMs), 99),
    putP99: percentile(records.map((r) => r.latencyMs), 99),
    sentShare: records.length / ((rate * durationMs) / 1000),
    generatorCpu: (cpu.user + cpu.system) / 1e6 / wallS,
    etcdCpu,
  };
  if (repeat >= 0) {
    process.stdout.write(`  ${rate}/s step ${repeat + 1}: sent ${(stats.sentShare * 100).toFixed(1)}% of due, late >10 ms ${(stats.lateShare * 100).toFixed(2)}%, lag p99 ${stats.lagP99.toFixed(1)} ms, put p99 ${stats.putP99.toFixed(1)} ms, errors ${records.filter((r) => !r.ok).length}, lost ${result.lostWrites}, generator CPU ${(stats.generatorCpu * 100).toFixed(0)}%, etcd CPU ${(etcdCpu * 100).toFixed(0)}%\n`);
  }
  return stats;
}
