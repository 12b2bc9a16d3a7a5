import { test } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from '../../core/units.ts';
import { isVerifiable } from '../index.ts';
import { leaderChurnInjector } from './leader-churn.ts';
import { startTestTwin } from '../testing.ts';

test('leader churn moves etcd leadership to seeded choices until healed', { timeout: 120_000 }, async (t) => {
  const { twin, context, random } = await startTestTwin(t, 9);
  await using _twin = twin;
  const etcd = twin.service('etcd');
  const leaders: string[] = [];
  const fault = await leaderChurnInjector.inject({ id: 'churn', type: 'leader-churn', service: 'etcd', everyMs: 700, atMs: 0, durationMs: 0 }, context);
  try {
    // wait (with a deadline) until leadership was seen on three members in turn, however slow the machine
    await waitFor('three leaders in turn', 60_000, async () => {
      const leader = (await etcd.leader()).leader;
      if (leader && leader !== leaders[leaders.length - 1]) leaders.push(leader);
      return leaders.length >= 3 ? true : undefined;
    });
    assert.ok(isVerifiable(fault));
    const evidence = await fault.verify();
    const moves = evidence.filter((e) => e.detail.startsWith('moved leadership'));
    assert.ok(moves.length >= 2, JSON.stringify(evidence));
    assert.ok(evidence.every((e) => e.ok), JSON.stringify(evidence));
  } finally {
    await fault.heal();
    await fault.heal();
  }
  // every move was a recorded seeded choice, and after heal no move is made any more
  const choicesAtHeal = random.choices.length;
  assert.ok(choicesAtHeal >= 2 && random.choices.every((c) => c.what.startsWith('churn')), JSON.stringify(random.choices));
  await new Promise((r) => setTimeout(r, 1500));
  assert.equal(random.choices.length, choicesAtHeal, 'healed: the churn made no further move');
});
