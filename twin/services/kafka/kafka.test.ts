import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { sleep, waitFor } from '../../../core/units.ts';
import { startTestTwin, verifyThenHeal } from '../../../injectors/testing.ts';
import { isVerifiable, leaderChurnInjector, processInjector, partitionInjector, type Evidence } from '../../../injectors/index.ts';
import { KafkaLoad } from '../../../load/index.ts';
import { KafkaCluster } from './index.ts';
import { kafkaClusterId } from './cluster.ts';

test('a cluster id never starts with "-" (kafka-storage format would read it as an option; one random id in 64 does)', () => {
  const ids = Array.from({ length: 2000 }, () => kafkaClusterId());
  for (const id of ids) assert.match(id, /^[A-Za-z0-9_][A-Za-z0-9_-]{21}$/);
  assert.equal(new Set(ids).size, ids.length);
});

// One real 3-broker KRaft cluster for the whole file (it takes ~20 s to start on 2 cores).
test('Kafka twin: churn moves leaders, acks=all loses nothing, a killed broker rejoins with a full ISR', { timeout: 400_000 }, async (t) => {
  const { twin, context, ledger, logDir } = await startTestTwin(t, 17, [{
    name: 'kafka', kind: 'kafka', replicas: 3, heapMb: 512, replicaLagMs: 3000,
    topics: [{ name: 'orders', partitions: 6, replicationFactor: 3, minInsyncReplicas: 2 }],
  }]);
  await using _twin = twin;
  const kafka = twin.of('kafka', KafkaCluster);

  await t.test('starts 3 brokers with an active controller and the scenario topic in sync', async () => {
    const state = await kafka.state();
    assert.deepEqual(state.brokers, ['kafka-1', 'kafka-2', 'kafka-3']);
    assert.ok(state.controller !== null && state.brokers.includes(state.controller), `controller ${state.controller}`);
    assert.equal(state.partitions.length, 6);
    for (const p of state.partitions) {
      assert.equal(p.replicas.length, 3);
      assert.deepEqual([...p.isr].sort(), [...p.replicas].sort(), `${p.topic}/${p.partition} ISR`);
    }
    assert.equal(await kafka.healthy('kafka-1'), true);
  });

  const runDir = join(logDir, 'run');
  mkdirSync(join(runDir, 'logs'), { recursive: true });
  const load = new KafkaLoad({
    spec: { name: 'orders', kind: 'kafka', target: 'kafka', topic: 'orders', ratePerSec: 150, timeoutMs: 15_000, messageBytes: 100, executor: { kind: 'constant-arrival-rate' } },
    install: kafka.install, bootstrap: kafka.bootstrap, partitions: 6, runId: context.runId, clockZeroEpochMs: Date.now(), runDir, ledger,
  });
  await sleep(8000);

  await t.test('leader-churn moves partition leaders to seeded in-sync replicas, counted', async () => {
    const before = await kafka.state();
    const fault = await leaderChurnInjector.inject({ id: 'churn', type: 'leader-churn', service: 'kafka', topic: 'orders', everyMs: 800, atMs: 0, durationMs: 0 }, context);
    assert.ok(fault.appliedAt !== undefined, 'the first move marks when the fault took effect');
    await sleep(6000);
    assert.ok(isVerifiable(fault));
    const evidence = await fault.verify();
    await fault.heal();
    const moves = evidence.filter((e) => e.detail.startsWith('moved orders/'));
    assert.ok(moves.length >= 4, JSON.stringify(evidence));
    assert.ok(evidence.every((e) => e.ok), JSON.stringify(evidence));
    const after = await kafka.state();
    const changed = after.partitions.filter((p) => before.partitions.find((b) => b.partition === p.partition)!.leader !== p.leader);
    assert.ok(changed.length >= 1, 'leaders differ after the churn');
    for (const move of moves) {
      const took = Number(/after (\d+) ms/.exec(move.detail)?.[1]);
      assert.ok(took > 0 && took < 10_000, move.detail);
    }
  });

  await t.test('a killed follower broker shrinks the ISR; after heal it rejoins and the ISR is full', async () => {
    const fault = await processInjector.inject({ id: 'kill', type: 'process', action: 'kill', restart: true, target: { kind: 'role', service: 'kafka', role: 'follower', source: 'kafka.follower' }, atMs: 0, durationMs: 0 }, context);
    const victim = fault.hosts[0]!;
    assert.notEqual(victim, (await kafka.leader()).leader, 'a follower is not the active controller');
    await waitFor('the ISR to shrink', 30_000, async () => ((await kafka.state().catch(() => undefined))?.partitions.some((p) => !p.isr.includes(victim)) ? true : undefined), 250);
    await verifyThenHeal(fault);
    assert.ok((await kafka.state()).brokers.includes(victim), `${victim} registered again`);
    await kafka.waitInSync(60_000);
  });

  // while a broker is cut off, an admin call routed to it can time out: the polls below retry
  await t.test('the partition injector isolates a broker: probes across the cut fail, the ISR shrinks, heal restores it', async () => {
    const fault = await partitionInjector.inject({ id: 'cut', type: 'partition', mode: 'isolate', target: { kind: 'member', service: 'kafka', member: 'kafka-2', source: 'kafka-2' }, atMs: 0, durationMs: 0 }, context);
    let evidence: Evidence[] = [];
    try {
      await waitFor('kafka-2 out of some ISR', 30_000, async () => ((await kafka.state().catch(() => undefined))?.partitions.some((p) => !p.isr.includes('kafka-2')) ? true : undefined), 250);
    } finally {
      evidence = await verifyThenHeal(fault);
    }
    const probes = evidence.filter((e) => e.kind === 'probe');
    assert.ok(probes.length >= 2 && probes.some((e) => e.detail.includes(':9092')), JSON.stringify(probes));
    await kafka.waitInSync(60_000);
  });

  await t.test('a paused broker stops answering the Kafka protocol; resumed, it answers again', async () => {
    const fault = await processInjector.inject({ id: 'pause', type: 'process', action: 'pause', restart: true, target: { kind: 'member', service: 'kafka', member: 'kafka-3', source: 'kafka-3' }, atMs: 0, durationMs: 0 }, context);
    await verifyThenHeal(fault);
    assert.equal(await kafka.healthy('kafka-3', 2000), true);
  });

  await t.test('controller churn kills the active controller; another takes over, the old one rejoins', async () => {
    const before = (await kafka.leader()).leader;
    const fault = await leaderChurnInjector.inject({ id: 'ctl', type: 'leader-churn', service: 'kafka', controller: true, everyMs: 60_000, atMs: 0, durationMs: 0 }, context);
    const after = (await kafka.leader()).leader;
    assert.ok(after !== null && after !== before, `controller ${before} -> ${after}`);
    assert.ok(isVerifiable(fault));
    const evidence = await fault.verify();
    assert.ok(evidence.every((e) => e.ok), JSON.stringify(evidence));
    await fault.heal();
    assert.equal((await kafka.state()).brokers.length, 3, 'the killed controller is registered again after heal');
  });

  await t.test('acks=all traffic through all of it: no acknowledged message lost, duplicated or reordered', async () => {
    await kafka.waitInSync(60_000);
    const result = await load.result();
    load.close();
    assert.equal(result.readBackError, undefined);
    assert.ok(result.ackedWrites > 1000, `acknowledged ${result.ackedWrites}`);
    assert.equal(result.lostWrites, 0, JSON.stringify(result.lostKeys));
    assert.equal(result.messages?.duplicated, 0);
    assert.equal(result.messages?.reordered, 0);
    assert.equal(result.messages?.partitions.length, 6);
    assert.equal(result.messages?.partitions.reduce((n, p) => n + p.acked, 0), result.ackedWrites);
    const series = load.series();
    assert.ok(series.some((p) => p.name === 'load_latency_p99_ms' && p.labels.op === 'produce'));
    assert.ok(series.some((p) => p.name === 'load_latency_p99_ms' && p.labels.op === 'consume'));
    assert.ok(series.some((p) => p.name === 'kafka_consumer_lag'));
  });
});
