import * as z from 'zod';
import { squash, type Detector, type Judgement } from '../core/detection.ts';
import type { AlarmRule, DetectorSpecBase } from '../core/scenario.ts';
import type { Series } from '../core/series.ts';
import { median } from './robust-z.ts';
import { commonOf, detectorCommon } from './schema.ts';
import { grubbsCritical, ksTwoSample, meanSd } from './stats.ts';
import type { DetectorKind } from './types.ts';

/**
 * A vote of nine simple tests over the training window (the approach of Etsy's Skyline): a point
 * is anomalous when at least `consensus` of them call it so. The tests and their fixed settings:
 *
 * 1. mean subtraction: the value is more than 3 sd from the window's mean;
 * 2. average: the mean of the last 3 values is more than 3 sd from the window's mean;
 * 3. first average: the same, against the mean and sd of the window's first 1/24;
 * 4. moving average: the value is more than 3 sd from an exponentially weighted mean (centre of
 *    mass 50 points) that runs through the window and the judged points;
 * 5. least squares: the value is more than 3 sd of the residuals off the window's trend line;
 * 6. Grubbs: the mean of the last 3 values breaks Grubbs' critical value (alpha 0.05);
 * 7. histogram: the mean of the last 3 values falls in a bin (of 15 over the window's range) that
 *    holds 20 or fewer of the window's values, or outside the range;
 * 8. median absolute deviation: the value is more than 6 MADs from the window's median;
 * 9. Kolmogorov-Smirnov: the last 12 values and the window's last 144 come from different
 *    distributions (p < 0.05 and D > 0.5).
 */
export interface EnsembleSpec extends DetectorSpecBase {
  kind: 'ensemble';
  rule: AlarmRule;
  consensus: number;
}

declare module '../core/scenario.ts' {
  interface DetectorSpecs {
    ensemble: EnsembleSpec;
  }
}

export const ENSEMBLE_TESTS = ['mean-subtraction', 'average', 'first-average', 'moving-average', 'least-squares', 'grubbs', 'histogram', 'mad', 'ks'] as const;

const schema = z.strictObject({ kind: z.literal('ensemble'), ...detectorCommon, consensus: z.int().min(1).max(ENSEMBLE_TESTS.length).default(6) });

export const ensemble: DetectorKind<EnsembleSpec, z.output<typeof schema>> = {
  kind: 'ensemble',
  schema,
  build: (document, path, check) => ({ ...commonOf(document, 'ensemble', path, check, 12), kind: 'ensemble', consensus: document.consensus }),
  describe: (spec) => `ensemble of ${ENSEMBLE_TESTS.length} simple tests, ${spec.consensus} must agree`,
  create: (spec) => new EnsembleDetector(spec),
  needsWasm: false,
};

const EWMA_ALPHA = 1 / 51;
const BINS = 15;
const KS_PROBE = 12;
const KS_REFERENCE = 144;

interface WindowStats {
  mean: number;
  sd: number;
  first: { mean: number; sd: number };
  slope: number;
  intercept: number;
  residualSd: number;
  /** the trend line's time origin and unit (ms per point) */
  t0: number;
  unit: number;
  median: number;
  mad: number;
  grubbs: number;
  min: number;
  binWidth: number;
  bins: Int32Array;
  reference: Float64Array;
}

export class EnsembleDetector implements Detector {
  readonly name: string;
  readonly rule: AlarmRule;
  readonly #spec: EnsembleSpec;
  #stats: WindowStats | undefined;
  #ewma = 0;
  #ewmVar = 0;
  #tail: number[] = [];

  constructor(spec: EnsembleSpec) {
    this.name = spec.name;
    this.rule = spec.rule;
    this.#spec = spec;
  }

  fit(train: Series): void {
    const t: number[] = [];
    const v: number[] = [];
    train.t.forEach((ti, i) => {
      if (Number.isFinite(train.v[i]!)) {
        t.push(ti);
        v.push(train.v[i]!);
      }
    });
    if (v.length < 8) return;
    const { mean, sd } = meanSd(v);
    const first = meanSd(v.slice(0, Math.max(12, Math.floor(v.length / 24))));
    // least squares on time (in units of the first gap to keep the numbers small)
    const t0 = t[0]!;
    const unit = Math.max(1, (t[t.length - 1]! - t0) / Math.max(1, t.length - 1));
    const xs = t.map((x) => (x - t0) / unit);
    const mx = xs.reduce((a, b) => a + b, 0) / xs.length;
    let sxy = 0;
    let sxx = 0;
    xs.forEach((x, i) => {
      sxy += (x - mx) * (v[i]! - mean);
      sxx += (x - mx) ** 2;
    });
    const slope = sxx > 0 ? sxy / sxx : 0;
    const intercept = mean - slope * mx;
    const residualSd = meanSd(xs.map((x, i) => v[i]! - (intercept + slope * x))).sd;
    const med = median(v);
    const mad = median(v.map((x) => Math.abs(x - med)));
    const min = Math.min(...v);
    const max = Math.max(...v);
    const binWidth = (max - min) / BINS;
    const bins = new Int32Array(BINS);
    for (const x of v) bins[binWidth > 0 ? Math.min(BINS - 1, Math.floor((x - min) / binWidth)) : 0]!++;
    let ewma = v[0]!;
    let ewmVar = 0;
    for (const x of v) {
      const diff = x - ewma;
      ewma += EWMA_ALPHA * diff;
      ewmVar = (1 - EWMA_ALPHA) * (ewmVar + EWMA_ALPHA * diff * diff);
    }
    this.#ewma = ewma;
    this.#ewmVar = ewmVar;
    this.#tail = v.slice(-(KS_PROBE - 1));
    this.#stats = {
      mean, sd, first, slope, intercept, residualSd, t0, unit, median: med, mad, grubbs: grubbsCritical(v.length, 0.05), min, binWidth, bins,
      reference: Float64Array.from(v.slice(-KS_REFERENCE)).sort(),
    };
  }

  /** Each test's statistic over its limit (> 1: the test calls the point anomalous). */
  #tests(value: number, tailAverage: number, t: number, probe: readonly number[]): number[] {
    const s = this.#stats!;
    const unit = s.unit;
    const over = (distance: number, scale: number, limit: number) => (scale > 0 ? distance / (limit * scale) : distance > 0 ? Infinity : 0);
    const direction = this.#spec.direction;
    const signed = (d: number) => (direction === 'up' ? d : direction === 'down' ? -d : Math.abs(d));
    const bin = s.binWidth > 0 ? Math.floor((tailAverage - s.min) / s.binWidth) : 0;
    const inRange = bin >= 0 && bin <= BINS;
    const count = inRange ? s.bins[Math.min(BINS - 1, bin)]! : 0;
    const sortedProbe = [...probe].sort((a, b) => a - b);
    const ks = probe.length >= KS_PROBE && s.reference.length >= KS_PROBE ? ksTwoSample(sortedProbe, s.reference) : { d: 0, p: 1 };
    return [
      over(signed(value - s.mean), s.sd, 3),
      over(signed(tailAverage - s.mean), s.sd, 3),
      over(signed(tailAverage - s.first.mean), s.first.sd, 3),
      over(signed(value - this.#ewma), Math.sqrt(this.#ewmVar), 3),
      over(signed(value - (s.intercept + s.slope * ((t - s.t0) / unit))), s.residualSd, 3),
      over(signed(tailAverage - s.mean), s.sd, s.grubbs),
      signed(tailAverage - s.median) > 0 || direction === 'both' ? (inRange ? 21 / (count + 1) : Infinity) : 0,
      over(signed(value - s.median), s.mad, 6),
      ks.p < 0.05 ? Math.min(ks.d / 0.5, 0.05 / Math.max(ks.p, 1e-300)) : Math.min(ks.d / 0.5, 1) * 0.99,
    ];
  }

  /** Score: the number of tests that agree over (consensus - 1/2), squashed; anomalous from `consensus` votes. */
  judge(test: Series): Judgement {
    const n = test.t.length;
    const judgement: Judgement = { anomalous: new Uint8Array(n), score: new Float64Array(n) };
    if (!this.#stats) return judgement;
    const recent = [...this.#tail];
    for (let i = 0; i < n; i++) {
      const value = test.v[i]!;
      if (!Number.isFinite(value)) continue;
      recent.push(value);
      if (recent.length > KS_PROBE) recent.shift();
      const last3 = recent.slice(-3);
      const tailAverage = last3.reduce((a, b) => a + b, 0) / last3.length;
      const votes = this.#tests(value, tailAverage, test.t[i]!, recent).filter((x) => x > 1).length;
      judgement.score[i] = squash(votes / (this.#spec.consensus - 0.5));
      judgement.anomalous[i] = votes >= this.#spec.consensus ? 1 : 0;
      const diff = value - this.#ewma;
      this.#ewma += EWMA_ALPHA * diff;
      this.#ewmVar = (1 - EWMA_ALPHA) * (this.#ewmVar + EWMA_ALPHA * diff * diff);
    }
    return judgement;
  }
}
