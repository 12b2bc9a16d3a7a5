import { test } from 'node:test';
import assert from 'node:assert/strict';
import { aggregate, compare, parseSelector, parseThreshold, percentile } from './thresholds.ts';

test('parses k6 threshold expressions', () => {
  assert.deepEqual(parseThreshold('p(99) < 800'), { source: 'p(99) < 800', aggregation: { kind: 'percentile', percentile: 99 }, operator: '<', value: 800, percent: false });
  assert.deepEqual(parseThreshold('>= 99.5%'), { source: '>= 99.5%', aggregation: { kind: 'value' }, operator: '>=', value: 99.5, percent: true });
  assert.deepEqual(parseThreshold('max===0'), { source: 'max===0', aggregation: { kind: 'max' }, operator: '==', value: 0, percent: false });
  assert.equal(parseThreshold('p(0) < 1'), 'percentile must be in (0, 100], saw "p(0) < 1"');
  assert.equal(parseThreshold('around 5'), 'expected a threshold such as "p(99) < 800" or ">= 99%", saw "around 5"');
});

test('parses metric selectors with tags', () => {
  assert.deepEqual(parseSelector('latency_ms{op:put, load:kv}'), { source: 'latency_ms{op:put, load:kv}', metric: 'latency_ms', tags: { op: 'put', load: 'kv' } });
  assert.equal(parseSelector('latency_ms{op}'), 'expected tags as {key:value,...}, saw "latency_ms{op}"');
});

test('aggregates and compares like k6', () => {
  const values = [5, 1, 4, 2, 3];
  assert.equal(aggregate(values, { kind: 'avg' }), 3);
  assert.equal(aggregate(values, { kind: 'med' }), 3);
  assert.equal(aggregate(values, { kind: 'max' }), 5);
  assert.equal(aggregate(values, { kind: 'count' }), 5);
  assert.equal(aggregate([], { kind: 'count' }), 0);
  assert.ok(Number.isNaN(aggregate([], { kind: 'max' })));
  assert.equal(percentile(Array.from({ length: 100 }, (_, i) => i + 1), 99), 99);
  assert.equal(compare(3, '<=', 3), true);
  assert.equal(compare(3, '!=', 3), false);
});
