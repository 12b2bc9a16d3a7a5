import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Ledger } from '../../runner/ledger.ts';
import { resolveTarget } from '../../runner/targets.ts';
import { SeededRandom } from '../../core/random.ts';
import { sleep, waitFor } from '../../core/units.ts';
import { twinUp } from '../../twin/index.ts';
import type { ProcessSpec } from '../../runner/scenario/index.ts';
import { isVerifiable, type InjectionContext } from '../index.ts';
import { processInjector } from './process.ts';


test('kill -9 of the etcd leader: a new leader takes over; heal restarts it and it rejoins', { timeout: 120_000 }, async () => {
  const runId = randomBytes(3).toString('hex');
  const ledger = Ledger.open(runId, { stateDir: mkdtempSync(join(tmpdir(), 'moat-state-')) });
  await using twin = await twinUp({ backend: 'netns', services: [{ name: 'etcd', kind: 'etcd', replicas: 3, heartbeatMs: 100, electionMs: 1000, preVote: false }] }, { runId, ledger, logDir: mkdtempSync(join(tmpdir(), 'moat-logs-')) });
  const random = new SeededRandom(1);
  const started = Date.now();
  const context: InjectionContext = { runId, twin, ledger, random, faultIndex: 0, intervalMs: 1000, now: () => Date.now() - started, resolve: (t, what, exclude) => resolveTarget(twin, t, random, what, exclude) };
  const etcd = twin.service('etcd');
  const leader = (await etcd.leader()).leader!;
  const oldPid = etcd.member(leader).process.pid;
  const kill: ProcessSpec = { id: 'kill', type: 'process', action: 'kill', restart: true, atMs: 0, durationMs: 0, target: { kind: 'role', service: 'etcd', role: 'leader', source: 'etcd.leader' } };
  const fault = await processInjector.inject(kill, context);
  assert.equal(fault.target, `${leader} (leader)`);
  assert.ok(isVerifiable(fault));
  await sleep(200);
  assert.deepEqual((await fault.verify()).map((e) => [e.ok, e.detail]), [[true, `${leader} (pid ${oldPid}) is gone`]]);
  const successor = await waitFor('a new leader', 10_000, async () => {
    const view = await etcd.leader();
    return view.leader && view.leader !== leader ? view.leader : undefined;
  });
  assert.notEqual(successor, leader);
  await fault.heal();
  await fault.heal();
  assert.notEqual(etcd.member(leader).process.pid, oldPid, 'a new process');
  await waitFor('all three members agree again', 15_000, async () => {
    const view = await etcd.leader();
    return view.agreed && view.views.every((v) => v.reachable) ? true : undefined;
  });
});

test('pause (SIGSTOP) of a follower stops it answering; heal (SIGCONT) brings it back', { timeout: 120_000 }, async () => {
  const runId = randomBytes(3).toString('hex');
  const ledger = Ledger.open(runId, { stateDir: mkdtempSync(join(tmpdir(), 'moat-state-')) });
  await using twin = await twinUp({ backend: 'netns', services: [{ name: 'etcd', kind: 'etcd', replicas: 3, heartbeatMs: 100, electionMs: 1000, preVote: false }] }, { runId, ledger, logDir: mkdtempSync(join(tmpdir(), 'moat-logs-')) });
  const random = new SeededRandom(2);
  const context: InjectionContext = { runId, twin, ledger, random, faultIndex: 0, intervalMs: 1000, now: () => 0, resolve: (t, what, exclude) => resolveTarget(twin, t, random, what, exclude) };
  const pause: ProcessSpec = { id: 'pause', type: 'process', action: 'pause', restart: true, atMs: 0, durationMs: 0, target: { kind: 'role', service: 'etcd', role: 'follower', source: 'etcd.follower' } };
  const fault = await processInjector.inject(pause, context);
  assert.match(fault.target, /^etcd-\d \(follower\)$/);
  assert.equal(random.choices.length, 1, 'the follower was a seeded choice');
  const host = fault.hosts[0]!;
  assert.ok(isVerifiable(fault));
  const evidence = await fault.verify();
  assert.deepEqual(evidence.map((e) => e.ok), [true, true], JSON.stringify(evidence));
  await fault.heal();
  const member = twin.service('etcd').member(host);
  await waitFor(`${host} answering again`, 5000, async () => ((await fetch(`${member.clientUrl}/health`, { signal: AbortSignal.timeout(500) }).then((r) => r.ok, () => false)) ? true : undefined));
});
