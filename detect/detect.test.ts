import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Series } from '../core/series.ts';
import { kOfM } from './alarm-rule.ts';
import { RobustZDetector, median } from './robust-z.ts';
import { scoreAlarms, nabSigmoid } from './score.ts';
import { runDetectors, defaultSpec, alarmsOf } from './index.ts';

const series = (v: number[], name = 'x'): Series => ({ name, labels: {}, t: Float64Array.from(v, (_, i) => i * 1000), v: Float64Array.from(v) });

test('k-of-m fires once per episode, at the point that completes the rule', () => {
  assert.deepEqual(kOfM([false, true, true, false, true, true, true, false, false, false, false, false, true, true, true], 3, 5), [4, 14]);
  assert.deepEqual(kOfM([true, true], 3, 5), []);
});

test('robust-z learns median and MAD, and a flat baseline still alarms on any departure', () => {
  const detector = new RobustZDetector();
  detector.fit(series([10, 11, 9, 10, 12, 8, 10]));
  assert.equal(detector.fitted.center, 10);
  const alarms = alarmsOf(detector, { ...series([10, 30, 31, 32, 10]), name: 'y' });
  assert.equal(alarms.length, 1);
  assert.equal(alarms[0]!.t, 3000);

  const flat = new RobustZDetector();
  flat.fit(series([1, 1, 1, 1, 1]));
  assert.equal(alarmsOf(flat, series([1, 0, 0, 0, 1])).length, 1);
  assert.equal(median([3, Number.NaN, 1, 2]), 2);
});

test('detectors never judge their training points', async () => {
  const values = [...Array(20).fill(5), 50, 50, 50, 50, 5, 5];
  const { alarms } = await runDetectors([series(values)], [defaultSpec('robust-z')], { trainUntil: 20_000 });
  assert.deepEqual(alarms.map((a) => a.t), [22_000]);
  // with the spike inside training, the same points are not judged at all
  assert.deepEqual((await runDetectors([series(values)], [defaultSpec('robust-z')], { trainUntil: 26_000 })).alarms, []);
});

test('scoring: TTD inside the window, misses, false alarms and NAB weights', () => {
  const faults = [{ id: 'a', appliedAt: 10_000, healedAt: 20_000 }, { id: 'b', appliedAt: 40_000, healedAt: 50_000 }];
  const alarms = [
    { detector: 'd', series: 's1', t: 12_000, score: 9 },
    { detector: 'd', series: 's2', t: 11_000, score: 9 },
    { detector: 'd', series: 's1', t: 30_000, score: 9 }, // outside every window: false alarm
    { detector: 'd', series: 's1', t: 24_000, score: 9 }, // inside grace after a: counts for a, not false
    { detector: 'd', series: 's1', t: 1_000, score: 9 }, // before judging starts: ignored
  ];
  const scores = scoreAlarms({ faults, alarms, detectors: ['d'], series: ['s1', 's2'], graceMs: 5000, judgedFrom: 5000, judgedUntil: 60_000 });
  assert.deepEqual(scores.detections.map((d) => [d.faultId, d.ttdMs, d.series ?? null]), [['a', 1000, 's2'], ['b', null, null]]);
  assert.deepEqual(scores.seriesDetections.map((d) => d.ttdMs), [2000, 1000, null, null]);
  assert.deepEqual(scores.falseAlarms.map((a) => a.t), [30_000]);
  const [d] = scores.detectors;
  assert.equal(d!.detected, 1);
  assert.equal(d!.missed, 1);
  assert.equal(d!.detectionRate, 0.5);
  // normalised: the null detector scores -2 (two misses), the perfect one +2
  assert.ok(Math.abs(d!.nabNormalized.standard - (100 * (d!.nab.standard + 2)) / 4) < 1e-9);
  assert.equal(d!.falseAlarmsPerHour, 1 / (55_000 / 3_600_000));
  assert.ok(Math.abs(d!.nab.standard - (nabSigmoid(1000, 15_000) - 1 - 0.11)) < 1e-12);
  assert.ok(Math.abs(d!.nab.reward_low_fn - (nabSigmoid(1000, 15_000) - 2 - 0.11)) < 1e-12);
});

test('the NAB sigmoid is 1 at the window start and 0 at its end', () => {
  assert.ok(Math.abs(nabSigmoid(0, 1000) - 1) < 1e-4);
  assert.ok(Math.abs(nabSigmoid(1000, 1000)) < 1e-12);
  assert.ok(nabSigmoid(250, 1000) > nabSigmoid(500, 1000));
});

test('median by quickselect agrees with sorting, odd and even, with NaN skipped', () => {
  const random = (i: number) => ((i * 2654435761) % 1000) / 7;
  for (const n of [1, 2, 3, 10, 101, 1000]) {
    const values = Array.from({ length: n }, (_, i) => random(i));
    const sorted = [...values].sort((a, b) => a - b);
    const expected = n % 2 ? sorted[n >> 1]! : (sorted[n / 2 - 1]! + sorted[n / 2]!) / 2;
    assert.equal(median([...values, Number.NaN]), expected, `n=${n}`);
  }
  assert.ok(Number.isNaN(median([])));
});
