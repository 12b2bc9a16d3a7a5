// How fast a team iterates on its rules: `moat alerts replay` of etcd's published rules over 10
// recorded runs (each a leader isolation of 90 s, long enough for etcdNoLeader's `for: 1m`, with a
// real Prometheus, recorded once into ~/.cache/moat/bench-alert-runs-90s, or $MOAT_CACHE), median
// of 3 replays (in this process, the same code `moat alerts replay` runs, so the peak RSS printed
// is the replay's). Target: under 10 s.
// Run: node bench/alert-replay.ts [runs]
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync, copyFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadScenarioFile, replayAlerts, runScenario } from '../runner/index.ts';
import { median, peakRssMiB } from './lib.ts';

const count = Number(process.argv[2] ?? 10);
const root = new URL('..', import.meta.url).pathname;
const cache = join(process.env.MOAT_CACHE ?? join(homedir(), '.cache', 'moat'), 'bench-alert-runs-90s');
const rules = join(root, 'scenarios', 'rules', 'etcd.yaml');
mkdirSync(cache, { recursive: true });
const recorded = () => readdirSync(cache).filter((d) => existsSync(join(cache, d, 'journal.json')) && existsSync(join(cache, d, 'prometheus')));
if (recorded().length < count) {
  const dir = mkdtempSync(join(tmpdir(), 'moat-bench-scenario-'));
  mkdirSync(join(dir, 'rules'));
  copyFileSync(rules, join(dir, 'rules', 'etcd.yaml'));
  writeFileSync(join(dir, 'scenario.yaml'), `name: replay-corpus
twin: { services: { etcd: { kind: etcd, replicas: 3, preVote: true } } }
load: [{ name: kv, kind: etcd-kv, target: etcd, rate: 50/s, client: { requireLeader: true } }]
observe: { interval: 1s, bpf: [] }
baseline: { warmup: 20s, detectors: [robust-z] }
alerts: { rules: [rules/etcd.yaml] }
faults: [{ id: cut, type: partition, mode: isolate, target: etcd.leader, at: 20s, duration: 90s }]
recovery: 10s
`);
  const stateDir = mkdtempSync(join(tmpdir(), 'moat-bench-state-'));
  const scenario = await loadScenarioFile(join(dir, 'scenario.yaml'));
  while (recorded().length < count) {
    process.stdout.write(`recording run ${recorded().length + 1} of ${count} (about 2 minutes each, once)\n`);
    await runScenario(scenario, { scenarioFile: join(dir, 'scenario.yaml'), outDir: cache, stateDir });
  }
  rmSync(dir, { recursive: true, force: true });
  rmSync(stateDir, { recursive: true, force: true });
}
const runs = recorded().slice(0, count).map((d) => join(cache, d));
const times: number[] = [];
let ruleCount = 0;
for (let i = 0; i < 3; i++) {
  const t0 = performance.now();
  const { rules: ruleList, results } = await replayAlerts(rules, runs);
  times.push(performance.now() - t0);
  ruleCount = ruleList.length;
  const noLeader = results.map((r) => r.detections.find((d) => d.alert === 'etcdNoLeader')?.ttdMs ?? null);
  process.stdout.write(`replay ${i + 1}: ${(times[i]! / 1000).toFixed(2)} s; etcdNoLeader TTDs ${noLeader.map((t) => (t === null ? 'never' : `${(t / 1000).toFixed(0)} s`)).join(', ')}\n`);
}
const m = median(times);
process.stdout.write(`${runs.length} runs, ${ruleCount} rules: median ${(m / 1000).toFixed(2)} s (target < 10 s: ${m < 10_000 ? 'meets' : 'MISSES'}, ratio ${(10_000 / m).toFixed(2)}); peak RSS of this process ${peakRssMiB().toFixed(0)} MiB\n`);
