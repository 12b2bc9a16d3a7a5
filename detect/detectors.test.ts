import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Series } from '../core/series.ts';
import { runDetectors, defaultSpec, regularize, splitAt, MstlDetector, loadAugurs, type DetectorSpec } from './index.ts';
import { syntheticCorpus } from './corpus.ts';

/** Two weeks of hourly data with a daily cycle; from `shiftAt` the level rises by `shift`. */
function seasonal(shiftAt: number, shift: number): Series {
  const t = Float64Array.from({ length: 24 * 14 }, (_, i) => i * 3_600_000);
  const v = Float64Array.from(t, (_, i) => 100 + 10 * Math.sin((2 * Math.PI * i) / 24) + ((i * 7919) % 13) / 13 + (i >= shiftAt && i < shiftAt + 8 ? shift : 0));
  return { name: 'qps', labels: {}, t, v };
}

const mstl = { ...defaultSpec('mstl'), periodsMs: [24 * 3_600_000] } as DetectorSpec;
const trainUntil = 24 * 10 * 3_600_000;

test('MSTL sees a level shift that the seasonal swing hides from robust-z', async () => {
  const series = seasonal(24 * 11 + 3, 6); // 6 above normal, at the trough of the daily cycle
  const { alarms, errors } = await runDetectors([series], [mstl, defaultSpec('robust-z')], { trainUntil });
  assert.deepEqual(errors, []);
  const mstlAlarms = alarms.filter((a) => a.detector === 'mstl');
  assert.ok(mstlAlarms.length >= 1, 'mstl alarms');
  assert.ok(mstlAlarms[0]!.t >= (24 * 11 + 3) * 3_600_000 && mstlAlarms[0]!.t <= (24 * 11 + 8) * 3_600_000, `first mstl alarm at hour ${mstlAlarms[0]!.t / 3_600_000}`);
  assert.equal(alarms.filter((a) => a.detector === 'robust-z').length, 0, 'the shift stays inside the seasonal range');
});

test('MSTL with a period longer than half the training window says so and falls back to AutoETS', async () => {
  const weekly = { ...mstl, periodsMs: [7 * 24 * 3_600_000] } as Extract<DetectorSpec, { kind: 'mstl' }>;
  const detector = new MstlDetector(weekly, await loadAugurs());
  const { train, test } = splitAt(seasonal(0, 0), 24 * 5 * 3_600_000);
  detector.fit(train);
  assert.equal(detector.model, 'AutoETS (no seasonal period fits the training window)');
  assert.equal(detector.forecast(test).length, test.t.length);
});

test('Prophet alarms on the same shift, with the interval level as its sensitivity', async () => {
  const series = seasonal(24 * 11 + 3, 6);
  const prophet = { ...defaultSpec('prophet'), level: 0.99 } as DetectorSpec;
  const { alarms } = await runDetectors([series], [prophet], { trainUntil, epochMs: Date.UTC(2026, 0, 5) });
  assert.ok(alarms.some((a) => a.t >= (24 * 11 + 3) * 3_600_000 && a.t <= (24 * 11 + 10) * 3_600_000), JSON.stringify(alarms.map((a) => a.t / 3_600_000)));
});

test('static thresholds alarm only on the series they name, by the rule', async () => {
  const spec: DetectorSpec = { name: 'static', kind: 'static', direction: 'both', rule: { kind: 'consecutive', n: 2 }, thresholds: [{ series: 'load_error_ratio', operator: '>', value: 0.05 }] };
  const errors: Series = { name: 'load_error_ratio', labels: { op: 'all' }, t: Float64Array.from([0, 1, 2, 3, 4, 5, 6, 7], (i) => i * 1000), v: Float64Array.from([0, 0, 0, 0, 0, 0.1, 0.2, 0] ) };
  const other: Series = { ...errors, name: 'load_latency_p99_ms' };
  const { alarms } = await runDetectors([errors, other], [spec], { trainUntil: 5000 });
  assert.deepEqual(alarms.map((a) => [a.series, a.t]), [['load_error_ratio{op=all}', 6000]]);
});

test('direction: an up-only detector ignores drops', async () => {
  const drop = seasonal(0, 0);
  const v = Float64Array.from(drop.v, (x, i) => (i >= 24 * 11 && i < 24 * 11 + 6 ? x - 80 : x));
  const up = { ...defaultSpec('robust-z'), direction: 'up' } as DetectorSpec;
  const both = { ...defaultSpec('robust-z'), name: 'both' } as DetectorSpec;
  const { alarms } = await runDetectors([{ ...drop, v }], [up, both], { trainUntil });
  assert.deepEqual([...new Set(alarms.map((a) => a.detector))], ['both']);
});

test('regularize carries values over gaps onto a fixed grid', () => {
  const s: Series = { name: 'x', labels: {}, t: Float64Array.from([0, 1000, 3000, 4100]), v: Float64Array.from([1, Number.NaN, 3, 4]) };
  assert.deepEqual(Array.from(regularize(s, 1000)), [1, 1, 1, 3, 4]);
});

test('the synthetic corpus is labelled, seeded and repeatable', () => {
  const a = syntheticCorpus(7, 52);
  const b = syntheticCorpus(7, 52);
  assert.equal(a.length, 52);
  assert.deepEqual(a.map((s) => s.window), b.map((s) => s.window));
  assert.deepEqual(Array.from(a[10]!.series.v.subarray(0, 5)), Array.from(b[10]!.series.v.subarray(0, 5)));
  assert.deepEqual([...new Set(a.map((s) => s.kind))].sort(), ['level-shift', 'ramp', 'spike', 'variance']);
  assert.deepEqual([...new Set(a.map((s) => s.sigmas))].sort(), [1, 2, 3, 4, 5]);
  assert.ok(a.every((s) => s.window.appliedAt >= s.trainUntil));
});

test('Prophet judges a series that never moved against its constant value instead of failing', async () => {
  const flat: Series = { name: 'etcd_server_proposals_failed_total:rate', labels: {}, t: Float64Array.from({ length: 60 }, (_, i) => i * 1000), v: Float64Array.from({ length: 60 }, (_, i) => (i >= 50 && i < 55 ? 3 : 0)) };
  const { alarms, errors } = await runDetectors([flat], [defaultSpec('prophet')], { trainUntil: 45_000, epochMs: Date.UTC(2026, 0, 5) });
  assert.deepEqual(errors, []);
  assert.deepEqual(alarms.map((a) => a.t), [52_000]);
});

test('worker threads give the same alarms, in the same order, as one thread', async () => {
  const many = Array.from({ length: 30 }, (_, n) => {
    const s = seasonal(24 * 11 + (n % 10), 4 + (n % 5));
    return { ...s, labels: { n: String(n) } };
  });
  const specs = [mstl, defaultSpec('robust-z')];
  const one = await runDetectors(many, specs, { trainUntil, threads: 1 });
  const two = await runDetectors(many, specs, { trainUntil, threads: 2 });
  assert.ok(one.alarms.length > 20, `alarms: ${one.alarms.length}`);
  assert.deepEqual(two, one);
});
