import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { loadAugurs } from './augurs.ts';
import { MstlDetector, ProphetDetector } from './forecast.ts';
import { defaultSpec, type DetectorSpec } from './index.ts';
import type { Series } from '../core/series.ts';

/**
 * moat's forecasting detectors against the Python references (statsmodels STL/MSTL + ETS,
 * prophet) on fixtures generated from a seed by detect/reference/make_reference.py; the
 * committed reference.json lets this run without Python.
 *
 * Tolerances, as mean absolute forecast difference over 48 steps relative to the series' range:
 * - STL/MSTL: 3%. Both decompose with STL/MSTL and forecast trend + remainder with ETS plus
 *   seasonal naive; they differ in STL's default smoothing windows and in how AutoETS picks among
 *   ETS models, which moves forecasts by about 2% of the range here.
 * - Prophet: 0.5% for the point forecast (the same Stan model and L-BFGS), and the 95% interval
 *   widths within 5% of each other (both simulate the intervals from random samples).
 */
type MstlSpec = Extract<DetectorSpec, { kind: 'mstl' }>;

const reference = JSON.parse(readFileSync(new URL('./fixtures/reference.json', import.meta.url), 'utf8')) as {
  horizon: number;
  fixtures: Record<string, Record<string, { point: number[]; lower?: number[]; upper?: number[]; periods?: number[] }>>;
};

function fixture(name: string): { ds: number[]; series: Series } {
  const rows = readFileSync(new URL(`./fixtures/${name}.csv`, import.meta.url), 'utf8').trim().split('\n').slice(1).map((l) => l.split(',').map(Number));
  const ds = rows.map((r) => r[0]!);
  return { ds, series: { name, labels: {}, t: Float64Array.from(ds, (d) => (d - ds[0]!) * 1000), v: Float64Array.from(rows, (r) => r[1]!) } };
}

/** The forecast a detector judges against, read back through its own scoring path. */
function futureSeries(series: Series, horizon: number): Series {
  const step = series.t[1]! - series.t[0]!;
  const last = series.t[series.t.length - 1]!;
  return { ...series, t: Float64Array.from({ length: horizon }, (_, h) => last + step * (h + 1)), v: new Float64Array(horizon).fill(Number.NaN) };
}

function relativeMae(a: readonly number[], b: readonly number[], range: number): number {
  return a.reduce((sum, v, i) => sum + Math.abs(v - b[i]!), 0) / a.length / range;
}

function rangeOf(series: Series): number {
  return Math.max(...series.v) - Math.min(...series.v);
}

for (const [name, kind] of [['daily', 'stl'], ['daily-weekly', 'mstl']] as const) {
  test(`MSTL forecasts match statsmodels ${kind.toUpperCase()} + ETS on ${name} within 3% of the range`, async () => {
    const augurs = await loadAugurs();
    const { series } = fixture(name);
    const expected = reference.fixtures[name]![kind]!;
    const spec = { ...(defaultSpec('mstl') as MstlSpec), periodsMs: expected.periods!.map((p) => p * 3_600_000) };
    const detector = new MstlDetector(spec, augurs);
    detector.fit(series);
    assert.match(detector.model, new RegExp(`^MSTL periods \\[${expected.periods!.join(', ')}\\]`));
    const bands = detector.forecast(futureSeries(series, reference.horizon));
    const error = relativeMae(bands.map((b) => b.point), expected.point, rangeOf(series));
    assert.ok(error < 0.03, `mean absolute difference ${(error * 100).toFixed(2)}% of the range`);
  });
}

for (const name of ['daily', 'daily-weekly']) {
  test(`Prophet forecasts match Python prophet on ${name}: point within 0.5% of the range, interval widths within 5%`, async () => {
    const augurs = await loadAugurs();
    const { ds, series } = fixture(name);
    const expected = reference.fixtures[name]!.prophet!;
    // like for like with Python's defaults: 1000 draws for the interval
    const detector = new ProphetDetector({ ...(defaultSpec('prophet') as Extract<DetectorSpec, { kind: 'prophet' }>), level: 0.95, samples: 1000 }, augurs, ds[0]! * 1000);
    detector.fit(series);
    const bands = detector.forecast(futureSeries(series, reference.horizon));
    const error = relativeMae(bands.map((b) => b.point), expected.point, rangeOf(series));
    assert.ok(error < 0.005, `mean absolute difference ${(error * 100).toFixed(3)}% of the range`);
    const width = (lower: readonly number[], upper: readonly number[]) => upper.reduce((sum, u, i) => sum + u - lower[i]!, 0);
    const ratio = width(bands.map((b) => b.lower), bands.map((b) => b.upper)) / width(expected.lower!, expected.upper!);
    assert.ok(Math.abs(ratio - 1) < 0.05, `interval width ratio ${ratio.toFixed(3)}`);
  });
}
