import { test } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from '../../core/units.ts';
import { EtcdCluster } from '../../twin/index.ts';
import type { PartitionSpec } from './spec.ts';
import { partitionInjector } from './partition.ts';
import { isVerifiable } from '../types.ts';
import { startTestTwin } from '../testing.ts';

/** A put sent to one member through etcd's JSON gateway; true when it committed in time. */
async function putVia(url: string, key: string, timeoutMs: number): Promise<boolean> {
  try {
    const response = await fetch(`${url}/v3/kv/put`, {
      method: 'POST', body: JSON.stringify({ key: btoa(key), value: btoa('v') }), signal: AbortSignal.timeout(timeoutMs),
    });
    return response.ok;
  } catch {
    return false;
  }
}


const isolate = (id: string): PartitionSpec => ({ id, type: 'partition', mode: 'isolate', atMs: 0, durationMs: 0, target: { kind: 'role', service: 'etcd', role: 'leader', source: 'etcd.leader' } });

test('isolating the leader elects a new one on the majority side; after heal all agree', { timeout: 120_000 }, async (t) => {
  const { twin, context } = await startTestTwin(t);
  await using _twin = twin;
  const etcd = twin.of('etcd', EtcdCluster);
  const before = await etcd.leader();
  assert.ok(before.leader);

  const fault = await partitionInjector.inject(isolate('isolate-leader'), context);
  assert.equal(fault.target, `${before.leader} (leader)`);

  const majority = etcd.members.filter((m) => m.name !== before.leader);
  const newLeader = await waitFor('a new leader on the majority side', 10_000, async () => {
    const views = await Promise.all(majority.map(async (m) => (await etcd.leader()).views.find((v) => v.member === m.name)));
    const leaders = new Set(views.map((v) => v?.leader));
    const [only] = leaders;
    return leaders.size === 1 && only && only !== before.leader ? only : undefined;
  });
  assert.notEqual(newLeader, before.leader);
  assert.equal(await putVia(majority[0]!.clientUrl, 'majority', 3000), true, 'the majority side commits');
  assert.equal(await putVia(etcd.member(before.leader).clientUrl, 'minority', 3000), false, 'the isolated member cannot commit');

  assert.ok(isVerifiable(fault));
  const evidence = await fault.verify();
  assert.ok(evidence.length >= 5, JSON.stringify(evidence));
  assert.ok(evidence.every((e) => e.ok), JSON.stringify(evidence, null, 1));

  await fault.heal();
  await fault.heal(); // idempotent
  const after = await waitFor('one agreed leader after heal', 15_000, async () => {
    const view = await etcd.leader();
    return view.agreed && view.leader && view.views.every((v) => v.reachable) ? view : undefined;
  });
  assert.ok(after.views.every((v) => v.leader === after.leader));
  assert.equal(await putVia(etcd.member(before.leader).clientUrl, 'rejoined', 5000), true, 'the old leader commits again');
  assert.deepEqual(context.ledger.outstanding().filter((r) => r.kind === 'nft-table' && r.name.endsWith('_f0')), []);
});

test('a one-way cut blocks only the cut direction', { timeout: 120_000 }, async (t) => {
  const { twin, context } = await startTestTwin(t);
  await using _twin = twin;
  const spec: PartitionSpec = {
    id: 'one-way', type: 'partition', mode: 'one-way', atMs: 0, durationMs: 0,
    target: { kind: 'member', service: 'etcd', member: 'etcd-1', source: 'etcd-1' },
    to: [{ kind: 'member', service: 'etcd', member: 'etcd-2', source: 'etcd-2' }],
  };
  const ip = (h: string) => twin.backend.host(h).ip;
  assert.equal(await twin.backend.canConnect('etcd-1', ip('etcd-2'), 2379), true);
  const fault = await partitionInjector.inject(spec, context);
  assert.equal(await twin.backend.canConnect('etcd-1', ip('etcd-2'), 2379, 1000), false, 'etcd-1 cannot reach etcd-2');
  assert.equal(await twin.backend.canConnect('etcd-2', ip('etcd-1'), 2379, 1000), true, 'etcd-2 still reaches etcd-1');
  assert.equal(await twin.backend.canConnect('etcd-1', ip('etcd-3'), 2379, 1000), true, 'etcd-1 still reaches etcd-3');
  await fault.heal();
  assert.equal(await twin.backend.canConnect('etcd-1', ip('etcd-2'), 2379, 1000), true, 'healed');
});
