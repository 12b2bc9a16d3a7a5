import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sleep, waitFor } from '../../core/units.ts';
import { EtcdCluster } from '../../twin/index.ts';
import type { ProcessSpec } from './spec.ts';
import { isVerifiable } from '../index.ts';
import { processInjector } from './process.ts';
import { startTestTwin, verifyThenHeal } from '../testing.ts';


test('kill -9 of the etcd leader: a new leader takes over; heal restarts it and it rejoins', { timeout: 120_000 }, async (t) => {
  const { twin, context } = await startTestTwin(t, 1);
  await using _twin = twin;
  const etcd = twin.of('etcd', EtcdCluster);
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

test('pause (SIGSTOP) of a follower stops it answering; heal (SIGCONT) brings it back', { timeout: 120_000 }, async (t) => {
  const { twin, context, random } = await startTestTwin(t, 2);
  await using _twin = twin;
  const pause: ProcessSpec = { id: 'pause', type: 'process', action: 'pause', restart: true, atMs: 0, durationMs: 0, target: { kind: 'role', service: 'etcd', role: 'follower', source: 'etcd.follower' } };
  const fault = await processInjector.inject(pause, context);
  assert.match(fault.target, /^etcd-\d \(follower\)$/);
  assert.equal(random.choices.length, 1, 'the follower was a seeded choice');
  const host = fault.hosts[0]!;
  assert.ok(isVerifiable(fault));
  const evidence = await verifyThenHeal(fault);
  assert.equal(evidence.length, 2, JSON.stringify(evidence));
  const member = twin.of('etcd', EtcdCluster).member(host);
  await waitFor(`${host} answering again`, 5000, async () => ((await fetch(`${member.clientUrl}/health`, { signal: AbortSignal.timeout(500) }).then((r) => r.ok, () => false)) ? true : undefined));
});
