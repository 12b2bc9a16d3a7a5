import * as z from 'zod';
import { squash, type Detector, type Judgement } from '../core/detection.ts';
import type { AlarmRule, DetectorSpecBase } from '../core/scenario.ts';
import type { Series } from '../core/series.ts';
import { formatMs } from '../core/units.ts';
import { stepOf } from './forecast.ts';
import { median } from './robust-z.ts';
import { commonOf, detectorCommon } from './schema.ts';
import { esdCritical } from './stats.ts';
import type { DetectorKind } from './types.ts';

/**
 * Seasonal hybrid ESD: the series less its seasonal profile and its recent level, then the
 * generalized ESD test with median and MAD on what is left (the method of Twitter's open-source
 * AnomalyDetection). `alpha` is the test's significance, `maxAnoms` the share of the training
 * window the test may call anomalous, `periodMs` the season (skipped when the window holds fewer
 * than two).
 */
export interface EsdSpec extends DetectorSpecBase {
  kind: 'esd';
  rule: AlarmRule;
  alpha: number;
  maxAnoms: number;
  periodMs: number;
}

declare module '../core/scenario.ts' {
  interface DetectorSpecs {
    esd: EsdSpec;
  }
}

const schema = z.strictObject({
  kind: z.literal('esd'), ...detectorCommon,
  alpha: z.number().gt(0).lt(0.5).default(0.05),
  maxAnoms: z.number().gt(0).max(0.49).default(0.02),
  period: z.string().default('1d'),
});

export const esd: DetectorKind<EsdSpec, z.output<typeof schema>> = {
  kind: 'esd',
  schema,
  build: (document, path, check) => ({ ...commonOf(document, 'esd', path, check, 12), kind: 'esd', alpha: document.alpha, maxAnoms: document.maxAnoms, periodMs: check.duration(document.period, [...path, 'period']) }),
  describe: (spec) => `seasonal hybrid ESD, period ${formatMs(spec.periodMs)}, alpha ${spec.alpha}, at most ${spec.maxAnoms * 100}% anomalies in training`,
  create: (spec) => new EsdDetector(spec),
  needsWasm: false,
};

/** The level is the median of the deseasonalized values over the last this many points at least. */
const LEVEL_POINTS = 48;

export class EsdDetector implements Detector {
  readonly name: string;
  readonly rule: AlarmRule;
  readonly #spec: EsdSpec;
  #stepMs = 1;
  /** seasonal offset per phase of the period; empty without a season */
  #seasonal = new Float64Array(0);
  #level = Number.NaN;
  #center = 0;
  #scale = 1;
  #critical = Infinity;
  /** how many training points the ESD test called anomalous (reported by tests) */
  removed = 0;

  constructor(spec: EsdSpec) {
    this.name = spec.name;
    this.rule = spec.rule;
    this.#spec = spec;
  }

  #phase(t: number): number {
    const period = this.#spec.periodMs;
    return Math.floor((((t % period) + period) % period) / this.#stepMs) % this.#seasonal.length;
  }

  fit(train: Series): void {
    let n = 0;
    const t = new Float64Array(train.t.length);
    const v = new Float64Array(train.t.length);
    for (let i = 0; i < train.t.length; i++) {
      if (!Number.isFinite(train.v[i]!)) continue;
      t[n] = train.t[i]!;
      v[n] = train.v[i]!;
      n++;
    }
    if (n < 3) return;
    const times = t.subarray(0, n);
    const values = v.subarray(0, n);
    this.#stepMs = stepOf(times);
    const phases = Math.round(this.#spec.periodMs / this.#stepMs);
    const span = times[n - 1]! - times[0]! + this.#stepMs;
    const overall = median(values);
    this.#seasonal = new Float64Array(phases >= 2 && span >= 2 * this.#spec.periodMs ? phases : 0);
    if (this.#seasonal.length > 0) {
      // per phase: the median of its values (less the overall median), one sort of (phase, value)
      const phaseOf = new Int32Array(n);
      const counts = new Int32Array(phases + 1);
      for (let i = 0; i < n; i++) counts[(phaseOf[i] = this.#phase(times[i]!)) + 1]!++;
      for (let p = 0; p < phases; p++) counts[p + 1]! += counts[p]!;
      const grouped = new Float64Array(n);
      const at = counts.slice(0, phases);
      for (let i = 0; i < n; i++) grouped[at[phaseOf[i]!]!++] = values[i]! - overall;
      const raw = new Float64Array(phases);
      for (let p = 0; p < phases; p++) {
        const group = grouped.subarray(counts[p]!, counts[p + 1]!).sort();
        raw[p] = group.length ? medianSorted(group, 0, group.length) : Number.NaN;
      }
      // a phase sees one value per period: smooth over the neighbouring phases (1/96 of the period
      // each side, circularly) so the profile is not the noise of a few days
      const half = Math.max(1, Math.round(phases / 96));
      for (let p = 0; p < phases; p++) {
        let sum = 0;
        let count = 0;
        for (let k = -half; k <= half; k++) {
          const x = raw[(p + k + phases) % phases]!;
          if (Number.isFinite(x)) { sum += x; count++; }
        }
        this.#seasonal[p] = count ? sum / count : 0;
      }
    }
    const residuals = new Float64Array(n);
    for (let i = 0; i < n; i++) residuals[i] = values[i]! - this.#season(times[i]!);
    this.#level = median(residuals.subarray(Math.max(0, n - Math.max(LEVEL_POINTS, this.#seasonal.length))));
    for (let i = 0; i < n; i++) residuals[i]! -= this.#level;
    residuals.sort();
    const { from, to, removed } = generalizedEsd(residuals, this.#spec.alpha, Math.floor(this.#spec.maxAnoms * n));
    this.removed = removed;
    this.#center = medianSorted(residuals, from, to);
    const mad = madSorted(residuals, from, to, this.#center);
    this.#scale = Math.max(1.4826 * mad, Math.abs(this.#level) * 0.001, 1e-9);
    // the next point is tested as the first candidate of an ESD over the clean window and itself
    this.#critical = esdCritical(to - from + 1, 1, this.#spec.alpha);
  }

  #season(t: number): number {
    return this.#seasonal.length ? this.#seasonal[this.#phase(t)]! : 0;
  }

  /** Score: the point's hybrid ESD statistic over the critical value, squashed. */
  judge(test: Series): Judgement {
    const n = test.t.length;
    const judgement: Judgement = { anomalous: new Uint8Array(n), score: new Float64Array(n) };
    if (!Number.isFinite(this.#level)) return judgement;
    for (let i = 0; i < n; i++) {
      const value = test.v[i]!;
      if (!Number.isFinite(value)) continue;
      const r = (value - this.#season(test.t[i]!) - this.#level - this.#center) / this.#scale;
      const statistic = this.#spec.direction === 'up' ? r : this.#spec.direction === 'down' ? -r : Math.abs(r);
      judgement.score[i] = squash(statistic / this.#critical);
      judgement.anomalous[i] = statistic > this.#critical ? 1 : 0;
    }
    return judgement;
  }
}

/** The median of sorted[from, to). */
function medianSorted(sorted: ArrayLike<number>, from: number, to: number): number {
  const n = to - from;
  if (n <= 0) return Number.NaN;
  const mid = from + (n >> 1);
  return n % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/**
 * The median absolute deviation from `center` of sorted[from, to). The deviations left of the
 * center, read leftward, and right of it, read rightward, are two sorted sequences: the median
 * deviation is an order statistic of their union, found by binary search in O(log n).
 */
export function madSorted(sorted: ArrayLike<number>, from: number, to: number, center: number): number {
  const n = to - from;
  if (n <= 0) return 0;
  // first index at or above the center
  let lo = from;
  let hi = to;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid]! < center) lo = mid + 1;
    else hi = mid;
  }
  const left = (i: number) => center - sorted[lo - 1 - i]!; // i-th smallest deviation on the left
  const right = (j: number) => sorted[lo + j]! - center;
  const leftCount = lo - from;
  const rightCount = to - lo;
  /** the k-th smallest (0-based) deviation of the union */
  const kth = (k: number): number => {
    // take i from the left and k + 1 - i from the right
    let low = Math.max(0, k + 1 - rightCount);
    let high = Math.min(k + 1, leftCount);
    while (low <= high) {
      const i = (low + high) >> 1;
      const j = k + 1 - i;
      const leftLast = i > 0 ? left(i - 1) : -Infinity;
      const rightLast = j > 0 ? right(j - 1) : -Infinity;
      const leftNext = i < leftCount ? left(i) : Infinity;
      const rightNext = j < rightCount ? right(j) : Infinity;
      if (leftLast > rightNext) high = i - 1;
      else if (rightLast > leftNext) low = i + 1;
      else return Math.max(leftLast, rightLast);
    }
    return Number.NaN;
  };
  const mid = n >> 1;
  return n % 2 ? kth(mid) : (kth(mid - 1) + kth(mid)) / 2;
}

/**
 * Rosner's generalized ESD with the median and MAD (the "hybrid" test) on sorted values: up to
 * `maxOutliers` times the value farthest from the median is set aside with its statistic R_i; the
 * outliers are the first r set aside, r the largest i with R_i > λ_i. Returns the range of the
 * sorted values that is left. O(maxOutliers · n).
 */
export function generalizedEsd(sorted: ArrayLike<number>, alpha: number, maxOutliers: number): { from: number; to: number; removed: number } {
  let from = 0;
  let to = sorted.length;
  let outliers = 0;
  const n = sorted.length;
  // the ends set aside, in order: true for the low end
  const sides: boolean[] = [];
  for (let i = 1; i <= maxOutliers && to - from > 2; i++) {
    const center = medianSorted(sorted, from, to);
    const mad = madSorted(sorted, from, to, center);
    const scale = mad > 0 ? 1.4826 * mad : 1e-12;
    const low = (center - sorted[from]!) / scale;
    const high = (sorted[to - 1]! - center) / scale;
    sides.push(low >= high);
    if (low >= high) from++;
    else to--;
    if (Math.max(low, high) > esdCritical(n, i, alpha)) outliers = i;
  }
  from = 0;
  to = sorted.length;
  for (let i = 0; i < outliers; i++) {
    if (sides[i]) from++;
    else to--;
  }
  return { from, to, removed: outliers };
}
