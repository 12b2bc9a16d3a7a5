import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Ledger } from '../../runner/ledger.ts';
import { resolveTarget } from '../../runner/targets.ts';
import { SeededRandom } from '../../core/random.ts';
import { sleep } from '../../core/units.ts';
import { twinUp } from '../../twin/index.ts';
import { isVerifiable, type InjectionContext } from '../index.ts';
import { leaderChurnInjector } from './leader-churn.ts';

test('leader churn moves etcd leadership to seeded choices until healed', { timeout: 120_000 }, async () => {
  const runId = randomBytes(3).toString('hex');
  const ledger = Ledger.open(runId, { stateDir: mkdtempSync(join(tmpdir(), 'moat-state-')) });
  await using twin = await twinUp({ backend: 'netns', services: [{ name: 'etcd', kind: 'etcd', replicas: 3, heartbeatMs: 100, electionMs: 1000, preVote: false }] }, { runId, ledger, logDir: mkdtempSync(join(tmpdir(), 'moat-logs-')) });
  const random = new SeededRandom(9);
  const started = Date.now();
  const context: InjectionContext = { runId, twin, ledger, random, faultIndex: 0, intervalMs: 1000, now: () => Date.now() - started, resolve: (t, what, exclude) => resolveTarget(twin, t, random, what, exclude) };
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
