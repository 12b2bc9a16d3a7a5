import { test } from 'node:test';
import assert from 'node:assert/strict';
import { electionsAfterHeal, evaluateGates, firstLeaderChange, recoveryAfter } from './analyze.ts';
import type { LeaderChangeEvent } from '../core/journal.ts';
import { parseScenario } from './scenario/index.ts';
import { LatencyHistogram } from '../load/index.ts';
import type { Series } from '../core/series.ts';

const errors = (v: number[]): Series => ({ name: 'load_error_ratio', labels: { op: 'all' }, t: Float64Array.from(v, (_, i) => (i + 1) * 1000), v: Float64Array.from(v) });

test('recovery: the first bucket after heal that starts a steady run, and leader agreement', () => {
  // healed at 5000; buckets stamped 6000.. cover [5000, 6000) ..; errors until the bucket at 8000
  const series = errors([0, 0, 0, 0, 0.5, 0.5, 0.4, 0, 0, 0, 0]);
  assert.equal(recoveryAfter(5000, [series], 4000, 5200), 2000);
  assert.equal(recoveryAfter(5000, [series], 4000, 9500), 4500, 'waits for the members to agree');
  assert.equal(recoveryAfter(5000, [errors([0, 0, 0, 0, 0.5, 0.5, 0.5, 0.5, 0.5])], 4000, 5000), null);
});

const change = (t: number, service: string, from: string | null, to: string | null, term: number, partition?: string): LeaderChangeEvent =>
  ({ t, kind: 'leader-change', detail: '', service, from, to, term, ...(partition ? { partition } : {}) });

test('first leader change after a fault, on the fault\'s own service only', () => {
  const timeline = [
    change(100, 'etcd', null, 'etcd-1', 2),
    change(200, 'other', null, 'other-1', 2),
    change(46_000, 'etcd', 'etcd-1', null, 2),
    change(46_200, 'other', 'other-1', 'other-2', 3),
    change(46_300, 'etcd', 'etcd-1', 'etcd-2', 2, 'orders/1'),
    change(46_500, 'etcd', null, 'etcd-3', 3),
  ];
  assert.deepEqual(firstLeaderChange(timeline, 45_000, 'etcd'), { from: 'etcd-1', to: 'etcd-3', afterMs: 1500 });
  assert.deepEqual(firstLeaderChange(timeline, 45_000, 'other'), { from: 'other-1', to: 'other-2', afterMs: 1200 });
  assert.equal(firstLeaderChange(timeline, 47_000, 'etcd'), undefined);
});

test('elections after heal: a new term counts, the same leader in a later term too, a lost leader does not', () => {
  const base = [change(100, 'etcd', null, 'etcd-1', 2), change(46_000, 'etcd', 'etcd-1', 'etcd-2', 3)];
  assert.equal(electionsAfterHeal(base, 65_000, 85_000, 'etcd'), 0, 'pre-vote: the rejoining member changes nothing');
  const disrupted = [...base, change(66_600, 'etcd', 'etcd-2', null, 3), change(67_600, 'etcd', null, 'etcd-2', 16)];
  assert.equal(electionsAfterHeal(disrupted, 65_000, 85_000, 'etcd'), 1, 'no pre-vote: the leader is deposed and elected again');
  assert.equal(electionsAfterHeal(disrupted, 65_000, 67_000, 'etcd'), 0, 'only until the end of the window');
  assert.equal(electionsAfterHeal(disrupted, 65_000, 85_000, 'other'), 0);
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
  const load = { name: 'kv', requests: 100, errors: 2, availability: 0.98, byOp: { put: { requests: 50, errors: 1, latency: LatencyHistogram.of([5, 6, 7, 200]) }, get: { requests: 50, errors: 1, latency: LatencyHistogram.of([1]) } }, ackedWrites: 49, lostWrites: 0, lostKeys: [], indeterminateApplied: 0, scheduleLagP99Ms: 1 };
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

test('gates on localization: time to localize (never as infinite) and top-1 accuracy', () => {
  const scenario = parseScenario(`name: g
twin: { services: { etcd: { kind: etcd } } }
baseline: { warmup: 1s }
faults:
  - { id: a, type: partition, mode: isolate, target: etcd.leader, at: 1s, duration: 1s }
  - { id: b, type: partition, mode: isolate, target: etcd.leader, at: 3s, duration: 1s }
gates:
  ttl_ms: ["max < 10000"]
  "ttl_ms{fault:a}": ["max < 10000"]
  localization_top1: ["avg >= 90%"]
  "localization_top3{fault:b}": ["min == 1"]
`);
  const verdict = (faultId: string, ttlMs: number | null, top1: boolean, top3: boolean) => ({ faultId, truth: ['etcd-1'], truthCause: 'network-cut' as const, hypotheses: [], ttlMs, top1, top3, causeCorrect: true, path: [] });
  const results = evaluateGates(scenario.gates, { loads: [], faults: [], detections: [], falseAlarms: [], detectors: [], diagnosis: { windowMs: 30_000, elapsedMs: 1, faults: [verdict('a', 2000, true, true), verdict('b', null, false, true)] } });
  assert.deepEqual(results.map((r) => [r.metric, r.ok, r.actual]), [
    ['ttl_ms', false, Number.POSITIVE_INFINITY],
    ['ttl_ms{fault:a}', true, 2000],
    ['localization_top1', false, 0.5],
    ['localization_top3{fault:b}', true, 1],
  ]);
});
