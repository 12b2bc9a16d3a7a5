import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tempDir } from '../core/testing.ts';
import { execFileSync } from 'node:child_process';
import { longFaultScenario, startMoat, type Started } from './testing/moat-cli.ts';
import { readdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { RUN_PHASES, type Journal } from '../core/journal.ts';

const root = new URL('..', import.meta.url).pathname;
const cli = join(root, 'cli/main.ts');

const LONG_FAULT = longFaultScenario('netns');

function leftovers(runId: string): { netns: string[]; links: string[]; processes: string[] } {
  const netns = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' }).split('\n').filter((l) => l.includes(`moat-${runId}-`));
  const links = execFileSync('ip', ['-o', 'link'], { encoding: 'utf8' }).split('\n').filter((l) => l.includes(`mb-${runId}`) || l.includes(`mv-${runId}-`));
  const processes = execFileSync('ps', ['-eo', 'pid,args'], { encoding: 'utf8' }).split('\n').filter((l) => l.includes(`moat-${runId}`) && !l.includes('ps -eo'));
  return { netns, links, processes };
}

function runIdFrom(stateDir: string): string {
  const files = readdirSync(join(stateDir, 'ledger'));
  assert.equal(files.length, 1, `ledgers: ${files.join(', ')}`);
  return files[0]!.replace('.jsonl', '');
}

test('SIGKILL during a partition, then `moat cleanup`, leaves nothing of the run behind', { timeout: 120_000 }, async (t) => {
  const stateDir = tempDir(t, 'state');
  const scenario = join(tempDir(t, 'sc'), 'long.yaml');
  writeFileSync(scenario, LONG_FAULT);
  const env = { MOAT_STATE_DIR: stateDir };
  const run = startMoat(['run', scenario, '--out', tempDir(t, 'out')], env);
  await run.waitFor(/fault-applied: cut/, 60_000);
  const runId = runIdFrom(stateDir);
  run.child.kill('SIGKILL');
  await run.exited;

  const before = leftovers(runId);
  assert.equal(before.netns.length, 3, 'the killed run left its namespaces');
  assert.ok(before.processes.length >= 3, 'and its etcd processes');

  // a new run refuses to start over the remains
  const refused = startMoat(['run', scenario, '--out', tempDir(t, 'out')], env);
  assert.equal(await refused.exited, 2);
  assert.match(refused.stderr.join(''), new RegExp(`a crashed run left resources behind \\(run ${runId}: \\d+ resources\\); run \`moat cleanup\` or pass --cleanup-stale`));

  const cleanup = startMoat(['cleanup'], env);
  assert.equal(await cleanup.exited, 0, cleanup.stdout.join('') + cleanup.stderr.join(''));
  assert.match(cleanup.stdout.join(''), new RegExp(`run ${runId}: \\d+ resources left behind`));
  assert.deepEqual(leftovers(runId), { netns: [], links: [], processes: [] });
  assert.deepEqual(readdirSync(join(stateDir, 'ledger')), []);
  // nft tables lived inside the namespaces; no table of the run exists in the host namespace either
  assert.doesNotMatch(execFileSync('nft', ['list', 'tables'], { encoding: 'utf8' }), new RegExp(`moat_${runId}`));

  const again = startMoat(['cleanup'], env);
  assert.equal(await again.exited, 0);
  assert.match(again.stdout.join(''), /nothing to clean up/);
});

const SHORT = `name: short
seed: 4
twin: { services: { etcd: { kind: etcd, replicas: 3 } } }
load: [{ name: kv, kind: etcd-kv, target: etcd, rate: 50/s }]
baseline: { warmup: 4s }
faults: [{ id: cut, type: partition, mode: isolate, target: etcd.leader, at: 4s, duration: 4s }]
recovery: 2s
`;

test('kill -9 at any phase leaves a journal.json that says how far the run got, and cleanup removes the rest', { timeout: 300_000 }, async (t) => {
  const dir = tempDir(t, 'kill-phases');
  const scenario = join(dir, 'short.yaml');
  writeFileSync(scenario, SHORT);
  for (const [phase, line] of [['twin-up', /moat: twin-up/], ['warm-up', /moat: warm-up/], ['faults', /fault-applied: cut/], ['recovery', /moat: recovery/], ['teardown', /moat: teardown/]] as const) {
    const stateDir = tempDir(t, 'state');
    const outDir = tempDir(t, 'out');
    const run = startMoat(['run', scenario, '--out', outDir], { MOAT_STATE_DIR: stateDir });
    await run.waitFor(line, 90_000);
    run.child.kill('SIGKILL');
    await run.exited;
    const [runDir] = readdirSync(outDir);
    const journal = JSON.parse(readFileSync(join(outDir, runDir!, 'journal.json'), 'utf8')) as Journal;
    assert.ok(RUN_PHASES.indexOf(journal.phase) >= RUN_PHASES.indexOf(phase), `killed at ${phase}: the journal says ${journal.phase}`);
    assert.ok(journal.status === 'running' || journal.phase === 'done', `a killed run's journal is ${journal.status} at ${journal.phase}`);
    const cleanup = startMoat(['cleanup'], { MOAT_STATE_DIR: stateDir });
    assert.equal(await cleanup.exited, 0, cleanup.stdout.join('') + cleanup.stderr.join(''));
    assert.deepEqual(leftovers(journal.runId), { netns: [], links: [], processes: [] });
  }
});

test('SIGINT during a partition heals, tears down and still writes the journal', { timeout: 120_000 }, async (t) => {
  const stateDir = tempDir(t, 'state');
  const outDir = tempDir(t, 'out');
  const scenario = join(tempDir(t, 'sc'), 'long.yaml');
  writeFileSync(scenario, LONG_FAULT);
  const run = startMoat(['run', scenario, '--out', outDir], { MOAT_STATE_DIR: stateDir });
  await run.waitFor(/fault-applied: cut/, 60_000);
  const runId = runIdFrom(stateDir);
  run.child.kill('SIGINT');
  assert.equal(await run.exited, 3, 'an interrupted run exits 3');
  assert.deepEqual(leftovers(runId), { netns: [], links: [], processes: [] });
  assert.deepEqual(readdirSync(join(stateDir, 'ledger')), []);
  const [runDir] = readdirSync(outDir);
  const journal = JSON.parse(readFileSync(join(outDir, runDir!, 'journal.json'), 'utf8')) as Journal;
  assert.equal(journal.status, 'interrupted');
  assert.equal(journal.verdict.passed, false);
  assert.ok(journal.faults[0]!.appliedAt !== null);
  assert.ok(journal.faults[0]!.healedAt !== null, 'the fault was healed on the way out');
  assert.ok(journal.activities.some((a) => a.name === 'heal cut (teardown)' && a.status === 'succeeded'));
  assert.ok(journal.activities.some((a) => a.name === 'twin-down' && a.status === 'succeeded'));
  assert.match(run.stdout.join(''), /# moat run: long-fault - FAILED/);
});

test('a run whose terminal went away (stdout and stderr closed, as `moat run | head` or a killed CI runner leaves it) still heals and tears down on SIGTERM', { timeout: 120_000 }, async (t) => {
  // registered before the temp folders, so it runs before they go: a run that hangs is killed and cleaned up
  let run: Started | undefined;
  t.after(() => {
    if (run?.child.exitCode !== null) return;
    run.child.kill('SIGKILL');
    execFileSync(process.execPath, [cli, 'cleanup'], { env: { ...process.env, MOAT_STATE_DIR: stateDir } });
  });
  const stateDir = tempDir(t, 'state');
  const outDir = tempDir(t, 'out');
  const scenario = join(tempDir(t, 'sc'), 'long.yaml');
  writeFileSync(scenario, LONG_FAULT);
  run = startMoat(['run', scenario, '--out', outDir], { MOAT_STATE_DIR: stateDir });
  await run.waitFor(/fault-applied: cut/, 60_000);
  const runId = runIdFrom(stateDir);
  // the reader goes away: every later write of moat's fails with EPIPE
  run.child.stdout!.destroy();
  run.child.stderr!.destroy();
  run.child.kill('SIGTERM');
  const code = await Promise.race([run.exited, new Promise<'hung'>((resolve) => setTimeout(resolve, 60_000, 'hung').unref())]);
  assert.equal(code, 3, 'an interrupted run exits 3 (a run that never exits is killed)');
  assert.deepEqual(leftovers(runId), { netns: [], links: [], processes: [] });
  assert.deepEqual(readdirSync(join(stateDir, 'ledger')), []);
  const [runDir] = readdirSync(outDir);
  const journal = JSON.parse(readFileSync(join(outDir, runDir!, 'journal.json'), 'utf8')) as Journal;
  assert.equal(journal.status, 'interrupted', journal.error);
  assert.ok(journal.faults[0]!.healedAt !== null, 'the fault was healed on the way out');
});

test('the demo scenario end to end: applied, verified, healed, scored, no lost writes', { timeout: 300_000 }, async (t) => {
  const stateDir = tempDir(t, 'state');
  const outDir = tempDir(t, 'out');
  const run = startMoat(['run', join(root, 'scenarios/etcd-split-brain.yaml'), '--out', outDir], { MOAT_STATE_DIR: stateDir });
  const code = await run.exited;
  const [runDir] = readdirSync(outDir);
  const dir = join(outDir, runDir!);
  const journal = JSON.parse(readFileSync(join(dir, 'journal.json'), 'utf8')) as Journal;
  assert.equal(journal.status, 'completed', journal.error);
  // the demo's gates state what etcd guarantees: it passes, on any machine
  assert.equal(journal.verdict.passed, true, journal.verdict.reasons.join('; '));
  assert.equal(code, 0);

  const [fault] = journal.faults;
  assert.equal(fault!.id, 'isolate-leader');
  assert.match(fault!.target!, /^etcd-\d \(leader\)$/);
  // the run loop starts an action no earlier than its schedule minus the lead it learnt (how close
  // it lands is bench/injection-precision.ts's business)
  assert.ok(fault!.appliedAt! >= fault!.scheduledAt - fault!.actuation!.injectLeadMs, JSON.stringify(fault));
  assert.ok(fault!.verified.ok, JSON.stringify(fault!.verified.evidence));
  // the kernel saw the cut: retransmits or resets across it, none elsewhere
  assert.equal(journal.bpf.enabled, true, journal.bpf.reason);
  assert.deepEqual(fault!.verified.evidence.filter((e) => e.kind === 'ebpf').map((e) => e.ok), [true, true]);
  assert.ok(fault!.healedAt! >= fault!.appliedAt! + 20_000 - fault!.actuation!.healLeadMs, `the 20 s fault was not healed early: ${JSON.stringify(fault)}`);
  assert.ok(fault!.leaderChange && fault!.leaderChange.to !== fault!.target!.slice(0, 6), 'a new leader won on the majority side');

  // a TTD or a miss for each fault x detector, and one per watched series
  const detectors = ['robust-z', 'mstl', 'prophet', 'static', 'adaptive-latency', 'adaptive-error-rate'];
  assert.deepEqual(journal.detections.map((d) => [d.faultId, d.detector]), detectors.map((d) => ['isolate-leader', d]));
  assert.equal(journal.seriesDetections.length, journal.series.watched.length * detectors.length);
  assert.deepEqual(journal.detectorScores.map((d) => d.faults), detectors.map(() => 1));
  assert.deepEqual(journal.detectorErrors, []);
  assert.ok(journal.series.watched.some((s) => s.startsWith('load_error_ratio')));
  assert.ok(journal.series.watched.some((s) => s.startsWith('etcd_server_has_leader')));

  const [load] = journal.load;
  assert.ok(load!.ackedWrites > 3000, `acked ${load!.ackedWrites}`);
  assert.equal(load!.lostWrites, 0);
  assert.equal(load!.readBackError, undefined);
  assert.equal(journal.gates.length, 6);
  assert.deepEqual(journal.cleanup, { ok: true, leftovers: [] });
  assert.deepEqual(readdirSync(join(stateDir, 'ledger')), []);

  // where the fault was: the isolated member is among the top 3 hypotheses at the heal (its peers'
  // retransmits to it are what the kernel guarantees, and etcd's check-quorum takes its leadership)
  const [diagnosed] = journal.diagnosis!.faults;
  assert.deepEqual(diagnosed!.truth, fault!.hosts);
  assert.ok(diagnosed!.top3, JSON.stringify(diagnosed));
  assert.ok(diagnosed!.hypotheses.every((h) => h.evidence.length > 0));
  // and `moat diagnose` reproduces it from the run folder alone
  const again = execFileSync(process.execPath, [cli, 'diagnose', dir], { encoding: 'utf8' });
  assert.match(again, /Matches the diagnosis the run recorded/, again);

  for (const file of ['journal.json', 'series.jsonl', 'summary.md', 'report.html', 'junit.xml', 'chaostoolkit-journal.json', 'series.csv', 'diagnosis.json', 'acked-writes-kv.jsonl', 'logs/etcd-1.log', 'logs/etcd-2.log', 'logs/etcd-3.log', 'bpf/program.bt', 'bpf/output.jsonl']) {
    assert.ok(existsSync(join(dir, file)), `${file} in the run folder`);
  }
  const summary = run.stdout.join('');
  assert.match(summary, /## Timeline/);
  assert.match(summary, /\| fault \| robust-z \| mstl \| prophet \| static \| adaptive-latency \| adaptive-error-rate \|/);
  assert.match(summary, /\| isolate-leader \| robust-z \| first of any: /);
  assert.match(summary, /## Verdict/);
});

test('production-shaped load and an imported baseline: the rate follows the replayed day, the import trains its series', { timeout: 300_000 }, async (t) => {
  const stateDir = tempDir(t, 'state');
  const outDir = tempDir(t, 'out');
  const run = startMoat(['run', join(root, 'scenarios/etcd-split-brain-prod-shape.yaml'), '--out', outDir], { MOAT_STATE_DIR: stateDir });
  await run.exited;
  const [runDir] = readdirSync(outDir);
  const journal = JSON.parse(readFileSync(join(outDir, runDir!, 'journal.json'), 'utf8')) as Journal;
  assert.equal(journal.status, 'completed', journal.error);
  assert.deepEqual(journal.baselineSources.map((s) => s.split(':')[0]), ['load_requests_per_sec{load=kv,op=all}']);
  assert.match(journal.baselineSources[0]!, /576 points imported from .*sample-requests-2days\.csv x 0\.075, 720x faster, then the warm-up$/);
  const rate = readFileSync(join(outDir, runDir!, 'series.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { name: string; labels: Record<string, string>; v: number[] })
    .find((s) => s.name === 'load_requests_per_sec' && s.labels.op === 'all')!;
  // the replayed day runs from its night trough (~0.5 x mean) towards its morning peak (~1.6 x mean)
  const early = rate.v.slice(1, 6).reduce((a, b) => a + b, 0) / 5;
  const peak = Math.max(...rate.v);
  assert.ok(early < 100 && peak > 180, `rate early ${early}/s, peak ${peak}/s`);
  assert.deepEqual(journal.detections.map((d) => d.detector), ['robust-z', 'mstl', 'prophet']);
  assert.equal(journal.load[0]!.lostWrites, 0);
});
