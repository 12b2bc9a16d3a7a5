import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Journal } from '../core/journal.ts';
import { readSeriesFile } from '../core/series-file.ts';
import { tempDir } from '../core/testing.ts';
import { waitFor } from '../core/units.ts';

const cli = new URL('../cli/main.ts', import.meta.url).pathname;

const RULES = `groups:
  - name: test
    rules:
      - alert: NoLeaderFast
        expr: etcd_server_has_leader{job="etcd"} == 0
        for: 5s
        annotations: { covers: partition }
      - alert: NeverFires
        expr: up{job="etcd"} == 0
        for: 1s
      - alert: SteadyNoise
        expr: up{job="etcd"} == 1
`;

const SCENARIO = (duration: string) => `name: alerts-short
seed: 8
twin: { services: { etcd: { kind: etcd, replicas: 3, preVote: true } } }
load: [{ name: kv, kind: etcd-kv, target: etcd, rate: 50/s, client: { requireLeader: true } }]
observe: { interval: 1s, bpf: [] }
baseline: { warmup: 10s, detectors: [robust-z] }
alerts:
  rules: [rules.yaml]
  evaluationInterval: 1s
  alertmanager: { groupWait: 1s, groupInterval: 5s, repeatInterval: 1h }
faults: [{ id: cut, type: partition, mode: isolate, target: etcd.leader, at: 10s, duration: ${duration} }]
recovery: 10s
`;

/** Processes whose command line names the run's alerting data folders. */
function alertingProcesses(runId: string): string[] {
  return execFileSync('ps', ['-eo', 'pid,args'], { encoding: 'utf8' }).split('\n').filter((l) => (l.includes(`moat-${runId}-prometheus`) || l.includes(`moat-${runId}-alertmanager`)) && !l.includes('ps -eo'));
}

test('a team\'s rules through a real Prometheus: a rule that fires on time, a blind one, one that fires in steady state; paged through Alertmanager; replayed from the saved run', { timeout: 300_000 }, (t) => {
  const dir = tempDir(t, 'alerts-run');
  writeFileSync(join(dir, 'rules.yaml'), RULES);
  writeFileSync(join(dir, 'scenario.yaml'), SCENARIO('25s'));
  const outDir = join(dir, 'runs');
  const stateDir = tempDir(t, 'state');
  const result = spawnSync(process.execPath, [cli, 'run', join(dir, 'scenario.yaml'), '--out', outDir, '--json'], { encoding: 'utf8', env: { ...process.env, MOAT_STATE_DIR: stateDir }, timeout: 240_000, maxBuffer: 64 * 1024 * 1024 });
  const [runDir] = readdirSync(outDir);
  const journal = JSON.parse(readFileSync(join(outDir, runDir!, 'journal.json'), 'utf8')) as Journal;
  assert.equal(journal.status, 'completed', `${journal.error} ${result.stderr.slice(-2000)}`);
  const alerts = journal.alerts!;
  assert.equal(alerts.prometheus.error, undefined);
  assert.match(alerts.prometheus.version, /^2\.42/);
  const fault = journal.faults[0]!;

  // the truth: the first scrape (by moat, of the same member, at the same interval) where the cut member had no leader
  const isolated = fault.hosts[0]!;
  const hasLeader = readSeriesFile(join(outDir, runDir!, 'series.jsonl')).find((s) => s.name === 'etcd_server_has_leader' && s.labels.member === isolated)!;
  const truth = Array.from(hasLeader.t).find((t, i) => t >= fault.appliedAt! && hasLeader.v[i] === 0)!;
  const fast = alerts.detections.find((d) => d.alert === 'NoLeaderFast' && d.faultId === 'cut')!;
  assert.ok(fast.ttdMs !== null, JSON.stringify(alerts.detections));
  // Prometheus scrapes and evaluates on its own phase of the 1 s interval: the firing evaluation
  // is `for:` after the expression first held, and that is within a scrape and an evaluation of the
  // truth (1 s each), with a second more for a scrape delayed by a busy machine
  const heldAt = fault.appliedAt! + fast.ttdMs - 5000;
  assert.ok(Math.abs(heldAt - truth) <= 3000, `expression held at ${heldAt}, moat saw the member leaderless at ${truth}`);
  assert.ok(fast.pendingMs !== null && fast.pendingMs <= fast.ttdMs - 5000 + 1000);
  assert.ok(fast.notifiedMs !== null && fast.notifiedMs >= fast.ttdMs, `paged at ${fast.notifiedMs} ms, fired at ${fast.ttdMs} ms`);
  assert.ok(fast.ratioToBest !== null && fast.ratioToBest > 1, `moat's robust-z was faster than a 5 s for: (${fast.ratioToBest})`);
  // blind: NeverFires never fired; SteadyNoise fired before the fault and so noticed nothing of it
  assert.deepEqual(alerts.blind, ['NeverFires', 'SteadyNoise']);
  assert.ok(journal.falseAlarms.some((a) => a.detector === 'alert:SteadyNoise'), 'a rule firing in steady state is a false alarm');
  assert.ok(journal.detectors.includes('alert:NoLeaderFast'), 'alert rules join the fault x detector table');
  assert.deepEqual(alertingProcesses(journal.runId), [], 'Prometheus and Alertmanager are gone after the run');
  assert.deepEqual(readdirSync(join(stateDir, 'ledger')), []);
  const summary = readFileSync(join(outDir, runDir!, 'summary.md'), 'utf8');
  assert.match(summary, /## Team alert rules/);
  assert.match(summary, /Blind rules: NeverFires, SteadyNoise\./);

  // replay the same rules against the saved run: the same firing time, within one evaluation interval
  const replay = spawnSync(process.execPath, [cli, 'alerts', 'replay', join(dir, 'rules.yaml'), join(outDir, runDir!), '--json', '--state-dir', stateDir], { encoding: 'utf8', timeout: 120_000 });
  assert.equal(replay.status, 0, replay.stderr);
  const replayed = JSON.parse(replay.stdout) as { runs: { detections: { alert: string; faultId: string; ttdMs: number | null }[]; blind: string[] }[] };
  const again = replayed.runs[0]!.detections.find((d) => d.alert === 'NoLeaderFast' && d.faultId === 'cut')!;
  assert.ok(again.ttdMs !== null && Math.abs(again.ttdMs - fast.ttdMs) <= 1000, `live ${fast.ttdMs} ms, replayed ${again.ttdMs} ms`);
  assert.deepEqual(replayed.runs[0]!.blind, ['NeverFires', 'SteadyNoise']);
});

test('kill -9 with Prometheus and Alertmanager running, then moat cleanup: neither is left', { timeout: 300_000 }, async (t) => {
  const dir = tempDir(t, 'alerts-kill');
  writeFileSync(join(dir, 'rules.yaml'), RULES);
  writeFileSync(join(dir, 'scenario.yaml'), SCENARIO('120s'));
  const stateDir = tempDir(t, 'state');
  const outDir = join(dir, 'runs');
  mkdirSync(outDir);
  const child = spawn(process.execPath, [cli, 'run', join(dir, 'scenario.yaml'), '--out', outDir], { env: { ...process.env, MOAT_STATE_DIR: stateDir }, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise((resolve) => child.on('exit', resolve));
  await waitFor('the fault to be applied', 120_000, async () => (/fault-applied: cut/.test(stderr) ? true : undefined));
  const runId = readdirSync(join(stateDir, 'ledger'))[0]!.replace('.jsonl', '');
  assert.equal(alertingProcesses(runId).length, 2, 'Prometheus and Alertmanager run');
  child.kill('SIGKILL');
  await exited;
  const cleanup = spawnSync(process.execPath, [cli, 'cleanup'], { encoding: 'utf8', env: { ...process.env, MOAT_STATE_DIR: stateDir } });
  assert.equal(cleanup.status, 0, cleanup.stdout + cleanup.stderr);
  assert.deepEqual(alertingProcesses(runId), []);
});
