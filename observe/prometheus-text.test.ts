import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseExposition, histogramQuantile } from './prometheus-text.ts';
import { Scraper } from './scraper.ts';
import { SeriesStore } from './series-store.ts';

const EXPOSITION = `# HELP etcd_server_has_leader Whether or not a leader exists.
# TYPE etcd_server_has_leader gauge
etcd_server_has_leader 1
# TYPE etcd_server_proposals_failed_total counter
etcd_server_proposals_failed_total 7
weird{path="a\\"b\\\\c",x="1"} NaN 1700000000000
grpc_server_handling_seconds_bucket{grpc_method="Put",le="0.005"} 90
grpc_server_handling_seconds_bucket{grpc_method="Put",le="0.01"} 99
grpc_server_handling_seconds_bucket{grpc_method="Put",le="+Inf"} 100
`;

test('parses samples, types, escaped labels and special values', () => {
  const { samples, types } = parseExposition(EXPOSITION);
  assert.equal(types.get('etcd_server_has_leader'), 'gauge');
  assert.deepEqual(samples[0], { name: 'etcd_server_has_leader', labels: {}, value: 1 });
  const weird = samples.find((s) => s.name === 'weird')!;
  assert.deepEqual(weird.labels, { path: 'a"b\\c', x: '1' });
  assert.ok(Number.isNaN(weird.value));
  assert.equal(samples.filter((s) => s.name.endsWith('_bucket')).length, 3);
});

test('histogram quantiles interpolate inside the bucket between two snapshots', () => {
  const before = new Map([[0.005, 0], [0.01, 0], [Infinity, 0]]);
  const after = new Map([[0.005, 90], [0.01, 99], [Infinity, 100]]);
  assert.equal(histogramQuantile(0.5, before, after), 0.005 * (50 / 90));
  assert.equal(histogramQuantile(0.99, before, after), 0.01);
  // the top bucket has no upper bound: report the highest finite bound
  assert.equal(histogramQuantile(1, before, after), 0.01);
  assert.equal(histogramQuantile(0.99, after, after), undefined);
});

test('the scraper turns counters into rates and histograms into per-interval p99', () => {
  const store = new SeriesStore();
  const target = { url: 'unused', labels: { member: 'etcd-1' }, select: { gauges: ['etcd_server_has_leader'], counters: ['etcd_server_proposals_failed_total'], histograms: [{ name: 'grpc_server_handling_seconds', by: ['grpc_method'] }] } };
  const scraper = new Scraper([target], store, () => 0);
  scraper.ingest(target, 1000, parseExposition(EXPOSITION).samples);
  const later = EXPOSITION.replace('failed_total 7', 'failed_total 17').replace('le="0.005"} 90', 'le="0.005"} 140').replace('le="0.01"} 99', 'le="0.01"} 198').replace('le="+Inf"} 100', 'le="+Inf"} 200');
  scraper.ingest(target, 3000, parseExposition(later).samples);
  const series = Object.fromEntries(store.snapshot().map((s) => [s.name, s]));
  assert.deepEqual(Array.from(series['etcd_server_has_leader']!.v), [1, 1]);
  assert.deepEqual(Array.from(series['etcd_server_proposals_failed_total:rate']!.t), [3000]);
  assert.deepEqual(Array.from(series['etcd_server_proposals_failed_total:rate']!.v), [5]);
  assert.deepEqual(series['grpc_server_handling_seconds:p99_ms']!.labels, { member: 'etcd-1', grpc_method: 'Put' });
  assert.equal(series['grpc_server_handling_seconds:p99_ms']!.v[0], 10);
});
