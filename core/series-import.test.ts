import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseCsvSeries, parsePrometheusSeries, parseTimestamp } from './series-import.ts';

test('timestamps: epoch seconds, epoch ms and ISO 8601', () => {
  assert.equal(parseTimestamp('1700000000'), 1_700_000_000_000);
  assert.equal(parseTimestamp('1700000000123'), 1_700_000_000_123);
  assert.equal(parseTimestamp('2026-01-05T00:00:00Z'), Date.UTC(2026, 0, 5));
  assert.equal(parseTimestamp('yesterday'), undefined);
});

test('CSV: header skipped, labels split series, rows sorted, input timestamps kept', () => {
  const imported = parseCsvSeries('timestamp,value,labels\n2026-01-05T00:00:02Z,3,route=/a\n2026-01-05T00:00:01Z,2,route=/a\n2026-01-05T00:00:00Z,1,"route=/b;code=500"\n');
  assert.equal(imported.originMs, Date.UTC(2026, 0, 5));
  assert.deepEqual(imported.series.map((s) => [s.labels, Array.from(s.t), Array.from(s.v)]), [
    [{ route: '/a' }, [1000, 2000], [2, 3]],
    [{ route: '/b', code: '500' }, [0], [1]],
  ]);
  assert.deepEqual(imported.tokens[0], ['2026-01-05T00:00:01Z', '2026-01-05T00:00:02Z']);
  // the message never quotes the file (a scenario may name any file); `quoted` does, for moat detect
  assert.throws(() => parseCsvSeries('t,v\n1700000000,1\n1700000001,lots\n'), { message: 'line 3: expected a number', quoted: 'line 3: expected a number, saw "lots"' });
  assert.throws(() => parseCsvSeries('t,v\n1700000000,1\nsoon,2\n'), { message: 'line 3: expected a timestamp (epoch seconds, ms or ISO 8601)', quoted: 'line 3: expected a timestamp (epoch seconds, ms or ISO 8601), saw "soon"' });
  assert.throws(() => parseCsvSeries('timestamp,value\n'), { message: 'no data rows (expected timestamp,value lines after the header)' });
  assert.throws(() => parsePrometheusSeries('root:x:0:0'), { message: 'not valid JSON' });
});

test('Prometheus range-query JSON: one series per result, metric name and labels kept', () => {
  const body = JSON.stringify({ status: 'success', data: { resultType: 'matrix', result: [
    { metric: { __name__: 'http_requests', job: 'api' }, values: [[1700000000, '1'], [1700000015, '2.5']] },
    { metric: { __name__: 'http_requests', job: 'web' }, values: [[1700000015, 'NaN']] },
  ] } });
  const imported = parsePrometheusSeries(body);
  assert.deepEqual(imported.series.map((s) => [s.name, s.labels, Array.from(s.t)]), [['http_requests', { job: 'api' }, [0, 15_000]], ['http_requests', { job: 'web' }, [15_000]]]);
  assert.ok(Number.isNaN(imported.series[1]!.v[0]));
  assert.deepEqual(imported.tokens[0], [1700000000, 1700000015]);
  assert.throws(() => parsePrometheusSeries('{"status":"error"}'), /expected the JSON of a Prometheus range query/);
});
