import { MoatError } from '../core/errors.ts';
import * as z from 'zod';
import { squash, type Detector, type Judgement } from '../core/detection.ts';
import type { AlarmRule, DetectorSpecBase, Direction } from '../core/scenario.ts';
import type { Series } from '../core/series.ts';
import { formatMs } from '../core/units.ts';
import type { Augurs, EtsModel, MstlModel, ProphetModel } from './augurs.ts';
import { commonOf, detectorCommon, level } from './schema.ts';
import type { DetectorKind } from './types.ts';

/** MSTL with an AutoETS trend, forecast forward; `level` of the interval, `periodsMs` the seasons. */
export interface MstlSpec extends DetectorSpecBase {
  kind: 'mstl';
  rule: AlarmRule;
  level: number;
  periodsMs: number[];
}

/** Prophet through augurs; `level` the interval width, `samples` the draws for it. */
export interface ProphetSpec extends DetectorSpecBase {
  kind: 'prophet';
  rule: AlarmRule;
  level: number;
  /** draws for the forecast interval (Python prophet: 1000) */
  samples: number;
}

declare module '../core/scenario.ts' {
  interface DetectorSpecs {
    mstl: MstlSpec;
    prophet: ProphetSpec;
  }
}

/**
 * Prophet simulates its forecast interval from random draws; 1000 (Python's default) costs about
 * 0.5 ms per judged point, 250 about a quarter of that for interval widths within a few percent.
 */
export const PROPHET_DEFAULT_SAMPLES = 250;

/** Online, MSTL and Prophet refit every 288 points (a day of 5-minute data) and forecast in between. */
export const MODEL_REFIT_EVERY = 288;

const mstlSchema = z.strictObject({ kind: z.literal('mstl'), ...detectorCommon, level, periods: z.array(z.string()).default([]) });
const prophetSchema = z.strictObject({ kind: z.literal('prophet'), ...detectorCommon, level, samples: z.int().min(10).max(10_000).default(PROPHET_DEFAULT_SAMPLES) });

export const mstl: DetectorKind<MstlSpec, z.output<typeof mstlSchema>> = {
  kind: 'mstl',
  schema: mstlSchema,
  build: (document, path, check) => ({ ...commonOf(document, 'mstl', path, check, MODEL_REFIT_EVERY), kind: 'mstl', level: document.level, periodsMs: document.periods.map((p, i) => check.duration(p, [...path, 'periods', i])) }),
  describe: (spec) => `MSTL${spec.periodsMs.length ? ` periods ${spec.periodsMs.map(formatMs).join(', ')}` : ''} + AutoETS, ${spec.level * 100}% interval`,
  create(spec, context) {
    if (!context.augurs) throw new MoatError('mstl needs augurs loaded (loadAugurs)');
    return new MstlDetector(spec, context.augurs);
  },
  needsWasm: true,
};

export const prophet: DetectorKind<ProphetSpec, z.output<typeof prophetSchema>> = {
  kind: 'prophet',
  schema: prophetSchema,
  build: (document, path, check) => ({ ...commonOf(document, 'prophet', path, check, MODEL_REFIT_EVERY), kind: 'prophet', level: document.level, samples: document.samples }),
  describe: (spec) => `Prophet, ${spec.level * 100}% interval`,
  create(spec, context) {
    if (!context.augurs) throw new MoatError('prophet needs augurs loaded (loadAugurs)');
    return new ProphetDetector(spec, context.augurs, context.epochMs);
  },
  needsWasm: true,
};

export interface Band {
  point: number;
  lower: number;
  upper: number;
}

/**
 * Judges points against their forecast band in the configured direction: x is the distance from
 * the forecast over the distance from the forecast to the band's edge on that side, so a point
 * on the edge has x = 1 (score 0.5) and a point outside it is anomalous.
 */
export function judgeAgainstBands(test: Series, bands: readonly Band[], spec: { direction: Direction }): Judgement {
  const n = test.v.length;
  const judgement: Judgement = { anomalous: new Uint8Array(n), score: new Float64Array(n) };
  for (let i = 0; i < n; i++) {
    const v = test.v[i]!;
    const band = bands[i]!;
    if (!Number.isFinite(v) || !Number.isFinite(band.point)) continue;
    const above = v > band.upper;
    const below = v < band.lower;
    const up = (v - band.point) / Math.max(band.upper - band.point, 1e-9);
    const down = (band.point - v) / Math.max(band.point - band.lower, 1e-9);
    const x = spec.direction === 'up' ? up : spec.direction === 'down' ? down : Math.max(up, down);
    judgement.score[i] = squash(x);
    judgement.anomalous[i] = (spec.direction === 'up' ? above : spec.direction === 'down' ? below : above || below) ? 1 : 0;
  }
  return judgement;
}

/** The typical spacing of a series, ms. */
export function stepOf(t: Float64Array): number {
  if (t.length < 2) return 1000;
  const gaps = Array.from(t.subarray(1), (v, i) => v - t[i]!).sort((a, b) => a - b);
  return Math.max(1, gaps[gaps.length >> 1]!);
}

/** Values on a regular grid (last observation carried forward over gaps and missing points). */
export function regularize(series: Series, stepMs: number): Float64Array {
  const first = series.t[0]!;
  const count = Math.floor((series.t[series.t.length - 1]! - first) / stepMs) + 1;
  const out = new Float64Array(count);
  let j = 0;
  let last = Number.NaN;
  for (let i = 0; i < count; i++) {
    const t = first + i * stepMs;
    while (j < series.t.length && series.t[j]! <= t + stepMs / 2) {
      if (Number.isFinite(series.v[j]!)) last = series.v[j]!;
      j++;
    }
    out[i] = last;
  }
  // a leading gap takes the first real value
  const firstReal = out.find(Number.isFinite) ?? 0;
  for (let i = 0; i < count && !Number.isFinite(out[i]!); i++) out[i] = firstReal;
  return out;
}

/**
 * MSTL (seasonal periods, each needing two full periods of training data) with an AutoETS trend,
 * through augurs. With no period that fits the training window it falls back to a non-seasonal
 * AutoETS; `model` says which was used. Forecasts forward from the end of training with the
 * configured interval level.
 */
export class MstlDetector implements Detector {
  readonly name: string;
  readonly rule: AlarmRule;
  readonly #spec: MstlSpec;
  readonly #augurs: Augurs;
  #model: MstlModel | EtsModel | undefined;
  #lastT = 0;
  #stepMs = 1000;
  model = '';

  constructor(spec: MstlSpec, augurs: Augurs) {
    this.name = spec.name;
    this.rule = spec.rule;
    this.#spec = spec;
    this.#augurs = augurs;
  }

  fit(train: Series): void {
    this.#stepMs = stepOf(train.t);
    const y = regularize(train, this.#stepMs);
    const periods = this.#spec.periodsMs.map((p) => Math.round(p / this.#stepMs)).filter((p) => p >= 2 && y.length >= 2 * p);
    this.#model = periods.length > 0 ? this.#augurs.mstl(periods) : this.#augurs.ets();
    this.model = periods.length > 0 ? `MSTL periods [${periods.join(', ')}] + AutoETS` : 'AutoETS (no seasonal period fits the training window)';
    try {
      this.#model.fit(y);
    } catch (error) {
      this.#free();
      throw error;
    }
    this.#lastT = train.t[0]! + (y.length - 1) * this.#stepMs;
  }

  judge(test: Series): Judgement {
    if (test.t.length === 0) {
      this.#free();
      return { anomalous: new Uint8Array(0), score: new Float64Array(0) };
    }
    return judgeAgainstBands(test, this.forecast(test), this.#spec);
  }

  /** The forecast band for each point of `test`; the model is freed afterwards. */
  forecast(test: Series): Band[] {
    if (!this.#model) throw new MoatError(`${this.name}: forecast before fit`);
    try {
      const steps = Array.from(test.t, (t) => Math.max(1, Math.round((t - this.#lastT) / this.#stepMs)));
      const horizon = Math.max(...steps);
      const forecast = this.#model.predict(horizon, this.#spec.level);
      return steps.map((h) => ({ point: forecast.point[h - 1]!, lower: forecast.intervals?.lower[h - 1] ?? Number.NaN, upper: forecast.intervals?.upper[h - 1] ?? Number.NaN }));
    } finally {
      this.#free();
    }
  }

  /** WASM memory only grows: every model is freed as soon as it has forecast. */
  #free(): void {
    this.#model?.free();
    this.#model = undefined;
  }
}

/**
 * Prophet through augurs with its wasmstan optimizer. Timestamps are real seconds (the run's
 * clock zero plus t), so daily and weekly seasonality switch on as Prophet decides from the span
 * of the training data (daily needs at least two days).
 */
export class ProphetDetector implements Detector {
  readonly name: string;
  readonly rule: AlarmRule;
  readonly #spec: ProphetSpec;
  readonly #augurs: Augurs;
  readonly #epochMs: number;
  #model: ProphetModel | undefined;
  /** Prophet cannot fit a series that never moved (its scaling divides by zero): such a series is judged against its constant value */
  #constant: number | undefined;

  constructor(spec: ProphetSpec, augurs: Augurs, epochMs: number) {
    this.name = spec.name;
    this.rule = spec.rule;
    this.#spec = spec;
    this.#augurs = augurs;
    this.#epochMs = epochMs;
  }

  fit(train: Series): void {
    const ds: number[] = [];
    const y: number[] = [];
    train.t.forEach((t, i) => {
      if (Number.isFinite(train.v[i]!)) {
        ds.push(Math.round((this.#epochMs + t) / 1000));
        y.push(train.v[i]!);
      }
    });
    if (y.length > 0 && y.every((v) => v === y[0])) {
      this.#constant = y[0]!;
      return;
    }
    this.#model = this.#augurs.prophet({ intervalWidth: this.#spec.level, uncertaintySamples: this.#spec.samples });
    try {
      // the optimiser's seed is fixed; Prophet's interval sampling inside augurs is not seedable
      this.#model.fit({ ds, y }, { seed: 1 });
    } catch (error) {
      this.#model.free();
      this.#model = undefined;
      throw error;
    }
  }

  judge(test: Series): Judgement {
    if (test.t.length === 0) {
      this.#model?.free();
      this.#model = undefined;
      return { anomalous: new Uint8Array(0), score: new Float64Array(0) };
    }
    return judgeAgainstBands(test, this.forecast(test), this.#spec);
  }

  /** The forecast band for each point of `test`; the model is freed afterwards. */
  forecast(test: Series): Band[] {
    if (this.#constant !== undefined) {
      const c = this.#constant;
      const tolerance = Math.max(Math.abs(c) * 0.01, 1e-6);
      return Array.from(test.t, () => ({ point: c, lower: c - tolerance, upper: c + tolerance }));
    }
    if (!this.#model) throw new MoatError(`${this.name}: forecast before fit`);
    try {
      const predictions = this.#model.predict({ ds: Array.from(test.t, (t) => Math.round((this.#epochMs + t) / 1000)) });
      const { point, intervals } = predictions.yhat;
      return point.map((p, i) => ({ point: p, lower: intervals?.lower[i] ?? Number.NaN, upper: intervals?.upper[i] ?? Number.NaN }));
    } finally {
      this.#model.free();
      this.#model = undefined;
    }
  }
}
