import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Series } from '../core/series.ts';
import { SeededRandom } from '../core/random.ts';
import { applyRule, StreamingRule } from './rules.ts';
import { judgeOnline } from './online.ts';
import { defaultSpec, createDetector, runDetectors, type DetectorSpec } from './index.ts';
import { esdCritical, grubbsCritical, incompleteBeta, ksTwoSample, studentTQuantile } from './stats.ts';
import { generalizedEsd, madSorted } from './esd.ts';
import { median } from './robust-z.ts';

const STEP = 300_000; // 5-minute data

function noisy(values: (i: number) => number, n: number, seed = 1, sigma = 1): Series {
  const random = new SeededRandom(seed);
  const gaussian = () => Math.sqrt(-2 * Math.log(1 - random.next())) * Math.cos(2 * Math.PI * random.next());
  return { name: 'x', labels: {}, t: Float64Array.from({ length: n }, (_, i) => i * STEP), v: Float64Array.from({ length: n }, (_, i) => values(i) + sigma * gaussian()) };
}

test('Student t quantiles, Grubbs and ESD critical values match published tables', () => {
  // t tables: t(0.975, 1) = 12.706, t(0.975, 10) = 2.228, t(0.995, 30) = 2.750
  assert.ok(Math.abs(studentTQuantile(0.975, 1) - 12.7062) < 1e-3);
  assert.ok(Math.abs(studentTQuantile(0.975, 10) - 2.2281) < 1e-3);
  assert.ok(Math.abs(studentTQuantile(0.995, 30) - 2.7500) < 1e-3);
  assert.ok(Math.abs(studentTQuantile(0.025, 10) + 2.2281) < 1e-3);
  // Grubbs' two-sided critical value, n = 10 and 20, alpha 0.05: 2.290 and 2.709
  assert.ok(Math.abs(grubbsCritical(10, 0.05) - 2.290) < 2e-3);
  assert.ok(Math.abs(grubbsCritical(20, 0.05) - 2.709) < 2e-3);
  // Rosner's example (n = 54, alpha 0.05, as in NIST's handbook): lambda_1 = 3.159, lambda_5 = 3.128, lambda_10 = 3.085
  assert.ok(Math.abs(esdCritical(54, 1, 0.05) - 3.159) < 2e-3);
  assert.ok(Math.abs(esdCritical(54, 5, 0.05) - 3.128) < 2e-3);
  assert.ok(Math.abs(esdCritical(54, 10, 0.05) - 3.085) < 2e-3);
  assert.ok(Math.abs(incompleteBeta(0.5, 2, 2) - 0.5) < 1e-12);
});

test('generalized ESD finds exactly the planted outliers and keeps a clean sample whole', () => {
  const clean = noisy(() => 0, 200, 3).v;
  assert.equal(generalizedEsd(Float64Array.from(clean).sort(), 0.05, 10).removed, 0);
  const planted = Float64Array.from([...clean.slice(0, 197), 15, -12, 20]).sort();
  const { removed, from, to } = generalizedEsd(planted, 0.05, 10);
  assert.equal(removed, 3);
  assert.ok(Math.max(...Array.from(planted.subarray(from, to), Math.abs)) < 5);
});

test('the MAD of a sorted range by binary search agrees with sorting the deviations', () => {
  const random = new SeededRandom(17);
  for (let trial = 0; trial < 300; trial++) {
    const n = 1 + Math.floor(random.next() * 60);
    const sorted = Float64Array.from({ length: n }, () => Math.round(random.next() * 40) / 4).sort();
    const from = Math.floor(random.next() * Math.min(3, n));
    const to = n - Math.floor(random.next() * Math.min(3, n - from));
    const center = random.next() < 0.5 ? median(sorted.subarray(from, to)) : random.next() * 10;
    assert.equal(madSorted(sorted, from, to, center), median(Array.from(sorted.subarray(from, to), (x) => Math.abs(x - center))), `trial ${trial}`);
  }
});

test('two-sample Kolmogorov-Smirnov: same distribution passes, shifted fails', () => {
  const a = noisy(() => 0, 300, 5).v.sort();
  const b = noisy(() => 0, 300, 99).v.sort();
  const c = noisy(() => 3, 300, 7).v.sort();
  assert.ok(ksTwoSample(a, b).p > 0.05);
  const shifted = ksTwoSample(a, c);
  assert.ok(shifted.p < 1e-6 && shifted.d > 0.5);
});

test('the streaming rule agrees with the batch rule, and `for` waits out its duration', () => {
  const random = new SeededRandom(11);
  const flags = Array.from({ length: 500 }, () => random.next() < 0.4);
  for (const rule of [{ kind: 'k-of-m', k: 3, m: 5 }, { kind: 'consecutive', n: 2 }, { kind: 'breach' }] as const) {
    const streaming = new StreamingRule(rule);
    const fired = flags.flatMap((f, i) => (streaming.push(f, i).fired ? [i] : []));
    assert.deepEqual(fired, applyRule(flags, rule));
  }
  // anomalous at t = 0..5 s then 10..20 s (1 s apart), for: 3 s -> fires at t = 4 s and 14 s
  const t = Array.from({ length: 25 }, (_, i) => i * 1000);
  const on = t.map((ms) => (ms <= 5000) || (ms >= 10_000 && ms <= 20_000));
  assert.deepEqual(applyRule(on, { kind: 'for', ms: 3000 }, t), [4, 14]);
});

test('online: a level that stays becomes the new normal after adaptAfter; fitted once keeps calling it anomalous', async () => {
  // 4 days of 5-minute points; the level moves from 100 to 130 for good at day 2
  const n = 4 * 288;
  const shiftAt = 2 * 288;
  const series = noisy((i) => (i < shiftAt ? 100 : 130), n, 21);
  const fitted = defaultSpec('robust-z');
  const online: DetectorSpec = { ...defaultSpec('robust-z', 'online-z', { online: true }) };
  const trainUntil = 288 * STEP;
  const run = await runDetectors([series], [fitted, online], { trainUntil, scores: true });
  const onlineAlarms = run.alarms.filter((a) => a.detector === 'online-z');
  const fittedScores = run.scores!.find((s) => s.detector === 'robust-z')!;
  const onlineScores = run.scores!.find((s) => s.detector === 'online-z')!;
  // both see the shift within a few points of it
  assert.ok(onlineAlarms.some((a) => a.t >= shiftAt * STEP && a.t <= (shiftAt + 5) * STEP), JSON.stringify(onlineAlarms));
  // the online baseline adapted once, 3 h after the alarm began (to the point)
  assert.equal(run.adaptations.length, 1, JSON.stringify(run.adaptations));
  assert.ok(run.adaptations[0]!.afterMs >= 3 * 3_600_000 && run.adaptations[0]!.afterMs < 3 * 3_600_000 + STEP);
  // a day after the shift: fitted once still calls every point anomalous, online almost none
  const dayAfter = (s: typeof fittedScores) => Array.from(s.anomalous).filter((a, i) => a && s.t[i]! >= (shiftAt + 288) * STEP).length;
  assert.equal(dayAfter(fittedScores), 288);
  assert.ok(dayAfter(onlineScores) < 10, `online still flags ${dayAfter(onlineScores)} points a day after the shift`);
  // no more alarms after adapting, beyond chance
  assert.ok(onlineAlarms.filter((a) => a.t > run.adaptations[0]!.t).length <= 2);
  // scores are in [0, 1] and above 0.5 exactly where a point is anomalous
  for (const s of [fittedScores, onlineScores]) {
    s.score.forEach((x, i) => {
      assert.ok(x >= 0 && x <= 1);
      if (s.anomalous[i]) assert.ok(x > 0.5);
    });
  }
});

test('online: points inside an alarm do not become the baseline while it lasts', () => {
  // a 2 h excursion (shorter than adaptAfter): once the rule holds, the excursion is kept out of
  // training, so it stays anomalous to its end
  const n = 3 * 288;
  const series = noisy((i) => (i >= 600 && i < 624 ? 160 : 100), n, 31);
  const spec = defaultSpec('robust-z', 'z', { online: true });
  const rule = spec.rule!;
  const result = judgeOnline(series, 288, () => createDetector(spec, { epochMs: 0 }), rule, spec.online!);
  assert.equal(result.adaptations.length, 0);
  for (let i = 602; i < 624; i++) assert.equal(result.judgement.anomalous[i], 1, `point ${i} of the excursion`);
  assert.equal(result.alarms.filter((i) => i >= 600 && i < 624).length, 1);
  // every point judged by a model fitted on earlier points only: a refit per point for robust-z
  assert.equal(result.refits, n - 288);
});

test('ESD, kNN and the ensemble catch a spike burst and a lost daily swing; quiet on clean data', async () => {
  const n = 6 * 288;
  const daily = (i: number) => 100 + 20 * Math.sin((2 * Math.PI * i) / 288);
  const clean = noisy(daily, n, 41);
  const burst = noisy((i) => daily(i) + (i >= 1200 && i < 1206 ? 25 : 0), n, 41);
  // the daily swing stops (a stuck exporter reporting the mean)
  const flat = noisy((i) => (i >= 1200 && i < 1260 ? 100 : daily(i)), n, 41);
  const specs = (['esd', 'knn', 'ensemble'] as const).map((kind) => defaultSpec(kind));
  const trainUntil = 3 * 288 * STEP;
  const at = (alarms: { detector: string; t: number }[], detector: string, from: number, to: number) => alarms.some((a) => a.detector === detector && a.t >= from * STEP && a.t <= to * STEP);
  const quiet = await runDetectors([clean], specs, { trainUntil });
  for (const spec of specs) assert.ok(quiet.alarms.filter((a) => a.detector === spec.name).length <= 1, `${spec.name} on clean data: ${JSON.stringify(quiet.alarms.filter((a) => a.detector === spec.name))}`);
  const spikes = await runDetectors([burst], specs, { trainUntil });
  assert.ok(at(spikes.alarms, 'esd', 1200, 1210), JSON.stringify(spikes.alarms));
  assert.ok(at(spikes.alarms, 'knn', 1200, 1210), JSON.stringify(spikes.alarms));
  // the ensemble's tests know no seasons (a 25-point burst at the top of a 20-point daily swing is
  // within 3 sd of the window): it is judged on a series without one
  const level = await runDetectors([noisy((i) => 100 + (i >= 1200 && i < 1206 ? 10 : 0), n, 43)], [defaultSpec('ensemble')], { trainUntil });
  assert.ok(at(level.alarms, 'ensemble', 1200, 1210), JSON.stringify(level.alarms));
  // the stuck series stays within the normal range, its shape does not: kNN sees it
  const stuck = await runDetectors([flat], [defaultSpec('knn')], { trainUntil });
  assert.ok(at(stuck.alarms, 'knn', 1200, 1260), JSON.stringify(stuck.alarms));
});
