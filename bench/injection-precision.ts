// Injection precision through the real run loop: a scenario with N partitions (default 50) of a
// seeded random etcd member, 1 s each, 1.5 s apart. Prints |applied - scheduled| and heal latency
// |healed - (applied + duration)|, p50 and p99, against the 50 ms target, and the raw time an
// nftables apply and heal take (which the run loop's actuation lead compensates).
// With a backend (netns, the default, or containers) the same runs on that twin.
// Run: node bench/injection-precision.ts [N] [netns|containers] [partition|pause]
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseScenario, runScenario } from '../runner/index.ts';
import { percentile, report } from './lib.ts';

const count = Number(process.argv[2] ?? 50);
const backend = process.argv[3] === 'containers' ? 'containers' : 'netns';
// `pause`: process pauses (SIGSTOP on netns, the engine's pause on containers) instead of partitions
const pause = process.argv[4] === 'pause';
const faults = Array.from({ length: count }, (_, i) => pause
  ? `  - { id: pause-${i + 1}, type: process, action: pause, target: etcd.random, at: ${5000 + i * 1500}ms, duration: 1s }`
  : `  - { id: cut-${i + 1}, type: partition, mode: isolate, target: etcd.random, at: ${5000 + i * 1500}ms, duration: 1s }`).join('\n');
const scenario = parseScenario(`name: injection-precision
seed: 11
twin: { backend: ${backend}, services: { etcd: { kind: etcd, replicas: 3 } } }
load: [{ name: kv, kind: etcd-kv, target: etcd, rate: 100/s }]
baseline: { warmup: 5s }
faults:
${faults}
recovery: 2s
`);
const stateDir = mkdtempSync(join(tmpdir(), 'moat-bench-state-'));
const outDir = mkdtempSync(join(tmpdir(), 'moat-bench-out-'));
const journal = await runScenario(scenario, { scenarioFile: 'bench', outDir, stateDir });
// the ledger is closed once the run cleaned up; a state folder that still holds one stays for moat cleanup
if (readdirSync(join(stateDir, 'ledger')).length === 0) rmSync(stateDir, { recursive: true, force: true });
rmSync(outDir, { recursive: true, force: true });
if (journal.status !== 'completed') throw new Error(`run ${journal.status}: ${journal.error}`);
const applyLag = journal.faults.map((f) => Math.abs(f.appliedAt! - f.scheduledAt));
const healLag = journal.faults.map((f) => Math.abs(f.healedAt! - (f.appliedAt! + 1000)));
const verified = journal.faults.filter((f) => f.verified.ok).length;
process.stdout.write(`${backend}: ${journal.faults.length} injections, ${verified} verified\n`);
const unverified = journal.faults.find((f) => !f.verified.ok);
if (unverified) process.stdout.write(`first not verified: ${unverified.id}: ${unverified.verified.evidence.map((e) => `${e.ok ? 'ok' : 'NOT'} ${e.detail}`).join('; ')}\n`);
report([
  { name: '|applied - scheduled| p50', measured: percentile(applyLag, 50), unit: 'ms' },
  { name: '|applied - scheduled| p99', measured: percentile(applyLag, 99), target: 50, unit: 'ms' },
  { name: 'heal latency p50', measured: percentile(healLag, 50), unit: 'ms' },
  { name: 'heal latency p99', measured: percentile(healLag, 99), target: 50, unit: 'ms' },
  { name: `apply actuation p50 (${pause ? 'pause' : 'nft commit'})`, measured: percentile(journal.faults.map((f) => f.actuation!.injectMs), 50), unit: 'ms' },
  { name: `heal actuation p50 (${pause ? 'resume' : 'nft commit'})`, measured: percentile(journal.faults.map((f) => f.actuation!.healMs), 50), unit: 'ms' },
]);
