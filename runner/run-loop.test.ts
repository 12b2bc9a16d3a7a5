import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Journal } from '../core/journal.ts';
import { tempDir, type Cleanup } from '../core/testing.ts';
import { parseScenario } from './scenario/index.ts';
import { runScenario } from './run.ts';
import { FakeClock } from './clock.ts';
import { FakeTwin } from './testing/fake-twin.ts';
import type { RunObserver } from './observers.ts';

/**
 * The run loop on a fake twin and a fake clock: no root, no processes, and a scenario of minutes
 * runs in well under a second, every time the same.
 */
const SCENARIO = (faults: string, extra = '') => `name: fake
seed: 9
twin: { services: { db: { kind: etcd, replicas: 3 } } }
observe: { bpf: [], prometheus: [] }
baseline: { warmup: 30s }
faults:
${faults}
recovery: 10s
${extra}`;

async function fakeRun(t: Cleanup, text: string, options: { signal?: AbortSignal; observers?: RunObserver[] } = {}): Promise<{ journal: Journal; twin: () => FakeTwin; outDir: string }> {
  const clock = new FakeClock();
  let twin: FakeTwin | undefined;
  const outDir = tempDir(t, 'fake-runs');
  const journal = await runScenario(parseScenario(text, 'fake.yaml'), {
    scenarioFile: 'fake.yaml', outDir, stateDir: tempDir(t, 'fake-state'), clock,
    twinUp: async (spec, twinOptions) => (twin = new FakeTwin(spec, twinOptions.runId, clock)),
    ...options,
  });
  return { journal, twin: () => twin!, outDir };
}

test('a partition on schedule: applied early by its lead, verified, healed at its end, a new leader elected, scored and gated', async (t) => {
  const started = performance.now();
  const { journal, twin } = await fakeRun(t, SCENARIO('  - { id: cut, type: partition, mode: isolate, target: db.leader, at: 30s, duration: 20s }', 'gates:\n  leader_election_ms: ["max < 1500"]\n  elections_after_heal: ["== 0"]'));
  assert.ok(performance.now() - started < 20_000, 'a 60 s scenario on the fake clock');
  assert.equal(journal.status, 'completed', journal.error);
  assert.equal(journal.phase, 'done');
  const [fault] = journal.faults;
  assert.equal(fault!.target, 'db-1 (leader)');
  assert.equal(fault!.service, 'db');
  // the first action of a kind starts 15 ms early; the heal, 25 ms early
  assert.equal(fault!.appliedAt, 30_000 - 15);
  assert.equal(fault!.healedAt, fault!.appliedAt! + 20_000 - 25);
  assert.deepEqual(fault!.actuation, { injectMs: 0, injectLeadMs: 15, healMs: 0, healLeadMs: 25 });
  assert.ok(fault!.verified.ok, JSON.stringify(fault!.verified.evidence));
  assert.deepEqual(fault!.verified.evidence.filter((e) => e.kind === 'probe').map((e) => e.ok), [true, true, true, true]);
  // the leader poll sees the old leader lost at its first tick after the cut, a new one an election later
  assert.deepEqual(fault!.leaderChange, { from: 'db-1', to: 'db-2', afterMs: 1015 });
  assert.equal(fault!.electionsAfterHeal, 0);
  assert.deepEqual(journal.gates.map((g) => [g.metric, g.ok]), [['leader_election_ms', true], ['elections_after_heal', true]]);
  assert.equal(journal.verdict.passed, true, journal.verdict.reasons.join('; '));
  assert.deepEqual(journal.timeline.filter((e) => e.kind.startsWith('fault')).map((e) => e.kind), ['fault-applied', 'fault-verified', 'fault-healed']);
  assert.equal(twin().downed, true, 'teardown took the twin down');
  assert.equal(twin().backend.cuts.size, 0, 'no cut is left');
});

test('the journal is written at every phase, in order, so a kill at any point leaves one that says how far the run got', async (t) => {
  const seen: string[] = [];
  let outDir = '';
  const observer: RunObserver = {
    phase(name) {
      // the writer observes first: the file on disk already names this phase
      const [dir] = readdirSync(outDir);
      const journal = JSON.parse(readFileSync(join(outDir, dir!, 'journal.json'), 'utf8')) as Journal;
      seen.push(`${name}:${journal.phase}:${journal.status}`);
    },
  };
  const clock = new FakeClock();
  outDir = tempDir(t, 'fake-runs');
  await runScenario(parseScenario(SCENARIO('  - { id: cut, type: partition, mode: isolate, target: db.leader, at: 30s, duration: 5s }'), 'fake.yaml'), {
    scenarioFile: 'fake.yaml', outDir, stateDir: tempDir(t, 'fake-state'), clock, observers: [observer],
    twinUp: async (spec, twinOptions) => new FakeTwin(spec, twinOptions.runId, clock),
  });
  const phases = seen.filter((s) => !s.startsWith('fault:'));
  assert.deepEqual(phases, [
    'validate:validate:running', 'twin-up:twin-up:running', 'observe:observe:running', 'load:load:running', 'warm-up:warm-up:running', 'faults:faults:running',
    'recovery:recovery:running', 'read-back:read-back:running', 'teardown:teardown:running', 'analysis:analysis:completed',
  ]);
});

test('a fault that cannot be applied fails the run; the faults already in place are healed in teardown', async (t) => {
  const { journal, twin } = await fakeRun(t, SCENARIO([
    '  - { id: long, type: partition, mode: isolate, target: db-3, at: 30s, duration: 60s }',
    '  - { id: gone, type: process, action: kill, restart: false, target: db-1, at: 32s, duration: 60s }',
    '  - { id: impossible, type: process, action: pause, target: db-1, at: 35s, duration: 5s }',
  ].join('\n')));
  assert.equal(journal.status, 'failed');
  assert.match(journal.error!, /^process impossible: db-1 \(pid \d+\) is not running$/);
  assert.equal(journal.faults.find((f) => f.id === 'impossible')!.appliedAt, null);
  const long = journal.faults.find((f) => f.id === 'long')!;
  assert.ok(long.healedAt !== null && long.healedAt < 60_000, `healed in teardown at ${long.healedAt}`);
  assert.ok(journal.activities.some((a) => a.name === 'heal long (teardown)' && a.status === 'succeeded'));
  assert.equal(twin().backend.cuts.size, 0);
  assert.equal(journal.verdict.passed, false);
});

test('an interrupt mid-fault heals, tears down and writes the journal as interrupted', async (t) => {
  const abort = new AbortController();
  const observer: RunObserver = { event: (e) => { if (e.kind === 'fault-applied') abort.abort(); } };
  const { journal, twin } = await fakeRun(t, SCENARIO('  - { id: cut, type: partition, mode: isolate, target: db.leader, at: 30s, duration: 60s }'), { signal: abort.signal, observers: [observer] });
  assert.equal(journal.status, 'interrupted');
  assert.equal(journal.error, 'interrupted by SIGTERM');
  assert.ok(journal.faults[0]!.healedAt !== null);
  assert.equal(twin().backend.cuts.size, 0);
  assert.equal(twin().downed, true);
});

test('a role target waits for the service to elect a leader, and the wait is in the journal', async (t) => {
  // the second fault fires 200 ms after the first heals, while the leader the cut deposed is still being replaced
  const { journal } = await fakeRun(t, SCENARIO([
    '  - { id: first, type: process, action: kill, target: db.leader, at: 30s, duration: 5s }',
    '  - { id: second, type: partition, mode: isolate, target: db.leader, at: 30200ms, duration: 5s }',
  ].join('\n')));
  assert.equal(journal.status, 'completed', journal.error);
  const second = journal.faults.find((f) => f.id === 'second')!;
  assert.ok(second.targetWaitMs !== undefined && second.targetWaitMs >= 100, JSON.stringify(second));
  assert.ok(journal.timeline.some((e) => e.kind === 'target-wait' && /second\.target: waited \d+ ms for db to elect a leader/.test(e.detail)));
  assert.ok(second.appliedAt! > second.scheduledAt);
});
