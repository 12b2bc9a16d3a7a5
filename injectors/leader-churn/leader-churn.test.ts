import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sleep } from '../../core/units.ts';
import { isVerifiable } from '../index.ts';
import { leaderChurnInjector } from './leader-churn.ts';
import { startTestTwin } from '../testing.ts';

test('leader churn moves etcd leadership to seeded choices until healed', { timeout: 120_000 }, async () => {
  const { twin, context, random } = await startTestTwin(9);
  await using _twin = twin;
  const etcd = twin.service('etcd');
  const leaders: string[] = [];
  const fault = await leaderChurnInjector.inject({ id: 'churn', type: 'leader-churn', service: 'etcd', everyMs: 700, atMs: 0, durationMs: 0 }, context);
  for (let i = 0; i < 12; i++) {
    await sleep(250);
    const leader = (await etcd.leader()).leader;
    if (leader && leader !== leaders[leaders.length - 1]) leaders.push(leader);
  }
  assert.ok(isVerifiable(fault));
  const evidence = await fault.verify();
  await fault.heal();
  await fault.heal();
  const moves = evidence.filter((e) => e.detail.startsWith('moved leadership'));
  assert.ok(moves.length >= 3, JSON.stringify(evidence));
  assert.ok(evidence.every((e) => e.ok), JSON.stringify(evidence));
  assert.ok(leaders.length >= 3, `leaders seen: ${leaders.join(' -> ')}`);
  assert.equal(random.choices.length, moves.length, 'every move was a recorded seeded choice');
  // healed: leadership stays put
  const settled = (await etcd.leader()).leader;
  await sleep(1500);
  assert.equal((await etcd.leader()).leader, settled);
});
