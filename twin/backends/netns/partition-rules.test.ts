import { test } from 'node:test';
import assert from 'node:assert/strict';
import { partitionTables, droppedPackets } from './partition-rules.ts';

const hosts = [{ name: 'a', ip: '10.77.0.10' }, { name: 'b', ip: '10.77.0.11' }, { name: 'c', ip: '10.77.0.12' }];

test('isolate drops both directions at the target only', () => {
  const tables = partitionTables({ mode: 'isolate', target: 'b' }, hosts, 't');
  assert.deepEqual(tables.map((t) => t.host), ['b']);
  assert.match(tables[0]!.script, /ip saddr \{ 10\.77\.0\.10, 10\.77\.0\.12 \} counter drop/);
  assert.match(tables[0]!.script, /ip daddr \{ 10\.77\.0\.10, 10\.77\.0\.12 \} counter drop/);
});

test('one-way drops, at each receiver, only flows the sender opened', () => {
  const tables = partitionTables({ mode: 'one-way', from: 'a', to: ['b', 'c'] }, hosts, 't');
  assert.deepEqual(tables.map((t) => t.host), ['b', 'c']);
  assert.match(tables[0]!.script, /ip saddr 10\.77\.0\.10 ct direction original counter drop/);
  assert.doesNotMatch(tables[0]!.script, /output/);
});

test('split cuts every pair across groups and leaves unlisted hosts alone', () => {
  const tables = partitionTables({ mode: 'split', groups: [['a'], ['b']] }, hosts, 't');
  assert.deepEqual(tables.map((t) => [t.host, /saddr \{ ([^}]*) \}/.exec(t.script)![1]]), [['a', '10.77.0.11'], ['b', '10.77.0.10']]);
});

test('sums drop counters from nft output', () => {
  assert.equal(droppedPackets('ip saddr { 1.2.3.4 } counter packets 12 bytes 900 drop\nip daddr { x } counter packets 3 bytes 10 drop'), 15);
});
