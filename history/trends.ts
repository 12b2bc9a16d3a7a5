import type { SeriesPoint } from './db.ts';

/** Which way a metric gets worse. */
export function worseWhen(metric: string): 'higher' | 'lower' {
  return metric === 'availability' || metric === 'fault_detected' || metric === 'localization_top1' ? 'lower' : 'higher';
}

/** Mid-ranks (1-based) of `values`, ties sharing the mean of their ranks. */
function ranks(values: readonly number[]): number[] {
  const order = values.map((v, i) => [v, i] as const).sort((a, b) => a[0] - b[0]);
  const out = new Array<number>(values.length);
  for (let i = 0; i < order.length;) {
    let j = i;
    while (j + 1 < order.length && order[j + 1]![0] === order[i]![0]) j++;
    const rank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) out[order[k]![1]] = rank;
    i = j + 1;
  }
  return out;
}

/** Counts of the Mann-Whitney U statistic over all arrangements of n1 and n2 values (no ties). */
function uCounts(n1: number, n2: number): Float64Array {
  // f[i][j][u]: arrangements of i x's and j y's with U = u (x above y pairs)
  const max = n1 * n2;
  let previous: Float64Array[] = Array.from({ length: n2 + 1 }, () => new Float64Array(max + 1));
  for (let j = 0; j <= n2; j++) previous[j]![0] = 1;
  for (let i = 1; i <= n1; i++) {
    const current: Float64Array[] = Array.from({ length: n2 + 1 }, () => new Float64Array(max + 1));
    current[0]![0] = 1;
    for (let j = 1; j <= n2; j++) {
      // the largest value is an x (adds j to U) or a y
      for (let u = 0; u <= i * j; u++) current[j]![u] = (u >= j ? previous[j]![u - j]! : 0) + current[j - 1]![u]!;
    }
    previous = current;
  }
  return previous[n2]!;
}

const exactCache = new Map<string, Float64Array>();

/** Standard normal upper tail. */
function normalUpper(z: number): number {
  // Abramowitz and Stegun 7.1.26 on erfc
  const x = Math.abs(z) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * x);
  const erfc = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429)))) * Math.exp(-x * x);
  return z >= 0 ? erfc / 2 : 1 - erfc / 2;
}

/**
 * One-sided Mann-Whitney U test that `a` tends to be larger than `b`: the p-value. Exact without
 * ties (up to 20 x 60 values); with ties, the normal approximation with the tie correction and a
 * continuity correction.
 */
export function mannWhitneyGreater(a: readonly number[], b: readonly number[]): number {
  const n1 = a.length;
  const n2 = b.length;
  if (n1 === 0 || n2 === 0) return 1;
  const r = ranks([...a, ...b]);
  const rankSum = r.slice(0, n1).reduce((s, x) => s + x, 0);
  const u = rankSum - (n1 * (n1 + 1)) / 2;
  const all = [...a, ...b];
  const ties = new Map<number, number>();
  for (const v of all) ties.set(v, (ties.get(v) ?? 0) + 1);
  const tied = [...ties.values()].some((c) => c > 1);
  if (!tied && n1 <= 20 && n2 <= 60) {
    const key = `${n1},${n2}`;
    let counts = exactCache.get(key);
    if (!counts) {
      counts = uCounts(n1, n2);
      exactCache.set(key, counts);
    }
    let total = 0;
    let atLeast = 0;
    for (let k = 0; k < counts.length; k++) {
      total += counts[k]!;
      if (k >= u) atLeast += counts[k]!;
    }
    return atLeast / total;
  }
  const n = n1 + n2;
  const tieTerm = [...ties.values()].reduce((s, t) => s + (t ** 3 - t), 0);
  const variance = ((n1 * n2) / 12) * (n + 1 - tieTerm / (n * (n - 1)));
  if (variance <= 0) return 1;
  return normalUpper((u - (n1 * n2) / 2 - 0.5) / Math.sqrt(variance));
}

export interface RegressionSettings {
  /** how many runs before the recent ones make the baseline */
  baseline: number;
  /** fewer baseline runs than this: no verdict */
  minBaseline: number;
  /** the recent segments tried: the last r runs for each r */
  splits: readonly number[];
  /** the family-wise significance over the splits (Bonferroni) */
  alpha: number;
}

export const REGRESSION_DEFAULTS: RegressionSettings = { baseline: 30, minBaseline: 10, splits: [3, 4, 5], alpha: 0.01 };

/** How many of the newest runs a regression test reads: older ones cannot change its answer. */
export function regressionWindow(settings: RegressionSettings = REGRESSION_DEFAULTS): number {
  return settings.baseline + Math.max(...settings.splits);
}

export interface Regression {
  worse: 'higher' | 'lower';
  /** the recent runs judged worse than the ones before */
  recent: number;
  baselineRuns: number;
  p: number;
  baselineMedian: number;
  recentMedian: number;
  /** the first run of the recent segment: where the metric moved */
  firstRun: { runId: string; startedAt: string; moatVersion: string; serviceVersion: string | null };
  /** a version that changed at or just before that run, when one did */
  changedVersion?: string;
}

function medianOf(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/**
 * Whether the newest runs of a metric are worse than the runs before them beyond run-to-run
 * noise: for each recent segment (the last r runs), a one-sided Mann-Whitney test against the up
 * to `baseline` runs before it; a regression when the smallest p-value, times the number of
 * segments tried, is below `alpha`. A miss (null, e.g. a TTD with no detection) counts as the
 * worst value. Rank-based: no assumption about the metric's distribution, and no fixed percentage.
 */
export function detectRegression(points: readonly SeriesPoint[], metric: string, settings: RegressionSettings = REGRESSION_DEFAULTS): Regression | undefined {
  const worse = worseWhen(metric);
  const sign = worse === 'higher' ? 1 : -1;
  const values = points.map((p) => (p.value === null ? Infinity : sign * p.value));
  let best: { r: number; p: number; base: number[]; recent: number[] } | undefined;
  for (const r of settings.splits) {
    if (values.length < r + settings.minBaseline) continue;
    const recent = values.slice(values.length - r);
    const base = values.slice(Math.max(0, values.length - r - settings.baseline), values.length - r);
    if (medianOf(recent) <= medianOf(base)) continue;
    const p = mannWhitneyGreater(recent, base);
    if (!best || p < best.p) best = { r, p, base, recent };
  }
  if (!best || best.p * settings.splits.length >= settings.alpha) return undefined;
  const first = points[points.length - best.r]!;
  const before = points[points.length - best.r - 1];
  const changed = before && before.serviceVersion !== first.serviceVersion ? `service ${first.serviceVersion ?? 'none'} (was ${before.serviceVersion ?? 'none'})`
    : before && before.moatVersion !== first.moatVersion ? `moat ${first.moatVersion} (was ${before.moatVersion})` : undefined;
  return {
    worse, recent: best.r, baselineRuns: best.base.length, p: best.p,
    baselineMedian: sign * medianOf(best.base), recentMedian: sign * medianOf(best.recent),
    firstRun: { runId: first.runId, startedAt: first.startedAt, moatVersion: first.moatVersion, serviceVersion: first.serviceVersion },
    ...(changed ? { changedVersion: changed } : {}),
  };
}
