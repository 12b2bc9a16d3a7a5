import { test } from 'node:test';
import assert from 'node:assert/strict';
import { evaluateGates, firstLeaderChange, recoveryAfter } from './analyze.ts';
import { parseScenario } from './scenario/index.ts';
import type { Series } from '../core/series.ts';

const errors = (v: number[]): Series => ({ name: 'load_error_ratio', labels: { op: 'all' }, t: Float64Array.from(v, (_, i) => (i + 1) * 1000), v: Float64Array.from(v) });

test('recovery: the first bucket after heal that starts a steady run, and leader agreement', () => {
  // healed at 5000; buckets stamped 6000.. cover [5000, 6000) ..; errors until the bucket at 8000
  const series = errors([0, 0, 0, 0, 0.5, 0.5, 0.4, 0, 0, 0, 0]);
  assert.equal(recoveryAfter(5000, [series], 4000, 5200), 2000);
  assert.equal(recoveryAfter(5000, [series], 4000, 9500), 4500, 'waits for the members to agree');
  assert.equal(recoveryAfter(5000, [errors([0, 0, 0, 0, 0.5, 0.5, 0.5, 0.5, 0.5])], 4000, 5000), null);
});

test('first leader change after a fault', () => {
  const timeline = [
    { t: 100, kind: 'leader-change' as const, detail: 'etcd: none -> etcd-1 (term 2)' },
    { t: 46_000, kind: 'leader-change' as const, detail: 'etcd: etcd-1 -> none (term 2)' },
    { t: 46_500, kind: 'leader-change' as const, detail: 'etcd: none -> etcd-3 (term 3)' },
  ];
  assert.deepEqual(firstLeaderChange(timeline, 45_000, 'etcd'), { from: 'etcd-1', to: 'etcd-3', afterMs: 1500 });
  assert.equal(firstLeaderChange(timeline, 47_000, 'etcd'), undefined);
});

test('gates: percent thresholds, misses as infinite TTD, lost writes', () => {
  const scenario = parseScenario(`name: g
twin: { services: { etcd: { kind: etcd } } }
load: [{ name: kv, kind: etcd-kv, target: etcd, rate: 10/s }]
baseline: { warmup: 1s }
faults: [{ id: f, type: partition, mode: isolate, target: etcd.leader, at: 1s, duration: 1s }]
gates:
  availability: [">= 99%"]
  "latency_ms{op:put}": ["p(50) < 10", "max < 100"]
  ttd_ms: ["max < 5000"]
  lost_writes: ["== 0"]
`);
  const load = { name: 'kv', requests: 100, errors: 2, availability: 0.98, byOp: { put: { requests: 50, errors: 1, latenciesMs: [5, 6, 7, 200] }, get: { requests: 50, errors: 1, latenciesMs: [1] } }, ackedWrites: 49, lostWrites: 0, lostKeys: [], indeterminateApplied: 0, scheduleLagP99Ms: 1 };
  const results = evaluateGates(scenario.gates, { loads: [load], faults: [], detections: [{ faultId: 'f', detector: 'robust-z', ttdMs: null }], falseAlarms: [], detectors: ['robust-z'] });
  assert.deepEqual(results.map((r) => [r.metric, r.threshold, r.ok]), [
    ['availability', '>= 99%', false],
    ['latency_ms{op:put}', 'p(50) < 10', true],
    ['latency_ms{op:put}', 'max < 100', false],
    ['ttd_ms', 'max < 5000', false],
    ['lost_writes', '== 0', true],
  ]);
  assert.equal(results[0]!.detail, 'availability >= 99%: 98.000% over 1 value');
  assert.equal(results[3]!.detail, 'ttd_ms max < 5000: Infinity over 1 value');
});
