import { MoatError } from '../core/errors.ts';
import * as z from 'zod';
import { squash, type Detector, type Judgement } from '../core/detection.ts';
import type { AlarmRule, DetectorSpecBase } from '../core/scenario.ts';
import { matchesSeries, seriesLabel, type Series } from '../core/series.ts';
import { percentile } from '../core/thresholds.ts';
import { describeRule } from './rules.ts';
import { median } from './robust-z.ts';
import { detectorCommon, onlineOf, ruleOf } from './schema.ts';
import type { DetectorKind } from './types.ts';

export type AdaptivePreset = 'qps' | 'error-rate' | 'latency';

/** The presets SRE teams configure per metric kind; every setting is optional (the preset's default). */
export interface AdaptiveSpec extends DetectorSpecBase {
  kind: 'adaptive';
  preset: AdaptivePreset;
  /** unset: the preset's own rule (qps: 3 consecutive; latency: any breach; error-rate uses `forMs`) */
  rule?: AlarmRule;
  /** series patterns the preset applies to; unset: the preset's defaults */
  series?: string[];
  sigma?: number;
  slope?: number;
  historyMs?: number;
  windowMs?: number;
  quantile?: number;
  margin?: number;
  forMs?: number;
  aggregateMs?: number;
  minWindowMs?: number;
  maxWindowMs?: number;
  p50Rise?: number;
}

declare module '../core/scenario.ts' {
  interface DetectorSpecs {
    adaptive: AdaptiveSpec;
  }
}

/** Which settings each adaptive preset reads (any other is an error in a scenario). */
export const ADAPTIVE_SETTINGS: Record<AdaptivePreset, readonly string[]> = {
  qps: ['sigma', 'slope', 'history', 'rule'],
  'error-rate': ['window', 'quantile', 'margin', 'for', 'aggregate'],
  latency: ['sigma', 'minWindow', 'maxWindow', 'p50Rise', 'rule'],
};

const schema = z.strictObject({
  kind: z.literal('adaptive'), ...detectorCommon, preset: z.enum(['qps', 'error-rate', 'latency']),
  series: z.array(z.string()).min(1).optional(),
  sigma: z.number().positive().optional(), slope: z.number().min(0).optional(), history: z.string().optional(),
  window: z.string().optional(), quantile: z.number().gt(0).max(100).optional(), margin: z.number().min(0).optional(), for: z.string().optional(), aggregate: z.string().optional(),
  minWindow: z.string().optional(), maxWindow: z.string().optional(), p50Rise: z.number().min(0).optional(),
});

export const adaptive: DetectorKind<AdaptiveSpec, z.output<typeof schema>> = {
  kind: 'adaptive',
  schema,
  build(document, path, check) {
    const allowed = ADAPTIVE_SETTINGS[document.preset];
    for (const key of ['sigma', 'slope', 'history', 'window', 'quantile', 'margin', 'for', 'aggregate', 'minWindow', 'maxWindow', 'p50Rise', 'rule'] as const) {
      if (document[key] !== undefined && !allowed.includes(key)) check.report([...path, key], `the ${document.preset} preset does not use ${key} (it takes: ${allowed.join(', ')})`);
    }
    const rule = ruleOf(document.rule, path, check);
    const online = onlineOf(document, 12, path, check);
    const ms = (key: 'history' | 'window' | 'for' | 'aggregate' | 'minWindow' | 'maxWindow') => (document[key] === undefined ? {} : { [`${key}Ms`]: check.duration(document[key]!, [...path, key]) });
    return {
      name: document.name ?? `adaptive-${document.preset}`, direction: document.direction, kind: 'adaptive', preset: document.preset,
      ...(rule ? { rule } : {}), ...online,
      ...(document.series ? { series: document.series } : {}),
      ...(document.sigma === undefined ? {} : { sigma: document.sigma }),
      ...(document.slope === undefined ? {} : { slope: document.slope }),
      ...(document.quantile === undefined ? {} : { quantile: document.quantile }),
      ...(document.margin === undefined ? {} : { margin: document.margin }),
      ...(document.p50Rise === undefined ? {} : { p50Rise: document.p50Rise }),
      ...ms('history'), ...ms('window'), ...ms('for'), ...ms('aggregate'), ...ms('minWindow'), ...ms('maxWindow'),
    };
  },
  describe: (spec) => `adaptive ${spec.preset} preset${spec.series ? ` on ${spec.series.join(', ')}` : ''}${spec.rule ? `, ${describeRule(spec.rule)}` : ''}`,
  create: (spec, context) => createAdaptive(spec, context.epochMs, context.find ?? (() => undefined), context.trainUntil ?? Infinity),
  needsWasm: false,
};

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** The presets as SRE teams configure them; every number can be changed in the scenario. */
export const ADAPTIVE_DEFAULTS = {
  qps: { series: ['*requests_per_sec*', '*:rate*'], sigma: 2.3, slope: 0.8, consecutive: 3, historyMs: 7 * DAY },
  'error-rate': { series: ['*error_ratio*'], windowMs: 15 * 60_000, quantile: 95, margin: 0.005, forMs: 90_000, aggregateMs: 60_000 },
  latency: { series: ['*p99_ms*'], minWindowMs: 5000, maxWindowMs: 30_000, p50Rise: 0.15, sigma: 3 },
} as const;

function patternMatches(series: Series, patterns: readonly string[]): boolean {
  return patterns.some((p) => matchesSeries(series, p));
}

/** A detector for one preset: it applies to the series its patterns name and to no others. */
export interface AdaptiveDetector extends Detector {
  appliesTo(series: Series): boolean;
}

export function createAdaptive(spec: AdaptiveSpec, epochMs: number, find: (name: string, labels: Record<string, string>) => Series | undefined, trainUntil: number): AdaptiveDetector {
  switch (spec.preset) {
    case 'qps': return new QpsPreset(spec, epochMs);
    case 'error-rate': return new ErrorRatePreset(spec, epochMs);
    case 'latency': return new LatencyPreset(spec, find, trainUntil);
  }
}

/**
 * QPS: hour-of-day profiles, separate for weekdays and weekends (UTC), learnt from the last
 * `history` (7 days) of training data. A point is anomalous beyond `sigma` (2.3) of its hour's
 * profile; an alarm needs `consecutive` (3) anomalous points in a row and a trend: the least-squares
 * slope of the z-score over the last 5 points must exceed `slope` (0.8 sigma per point) in the
 * direction of the departure. An hour with fewer than 3 training points uses the whole profile.
 */
class QpsPreset implements AdaptiveDetector {
  readonly name: string;
  readonly rule: AlarmRule;
  readonly #spec: AdaptiveSpec;
  readonly #epochMs: number;
  #buckets = new Map<string, { mean: number; sd: number }>();
  #overall = { mean: Number.NaN, sd: Number.NaN };

  constructor(spec: AdaptiveSpec, epochMs: number) {
    this.name = spec.name;
    this.rule = spec.rule ?? { kind: 'consecutive', n: ADAPTIVE_DEFAULTS.qps.consecutive };
    this.#spec = spec;
    this.#epochMs = epochMs;
  }

  appliesTo(series: Series): boolean {
    return patternMatches(series, this.#spec.series ?? ADAPTIVE_DEFAULTS.qps.series);
  }

  #bucket(t: number): string {
    const date = new Date(this.#epochMs + t);
    const weekend = date.getUTCDay() === 0 || date.getUTCDay() === 6;
    return `${weekend ? 'weekend' : 'weekday'}:${date.getUTCHours()}`;
  }

  fit(train: Series): void {
    const historyMs = this.#spec.historyMs ?? ADAPTIVE_DEFAULTS.qps.historyMs;
    const end = train.t[train.t.length - 1] ?? 0;
    const groups = new Map<string, number[]>();
    const all: number[] = [];
    train.t.forEach((t, i) => {
      const v = train.v[i]!;
      if (t < end - historyMs || !Number.isFinite(v)) return;
      const key = this.#bucket(t);
      if (!groups.has(key)) groups.set(key, []);
      groups.get(key)!.push(v);
      all.push(v);
    });
    const stats = (values: number[]) => {
      const mean = values.reduce((a, b) => a + b, 0) / values.length;
      const sd = Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(1, values.length - 1));
      return { mean, sd: Math.max(sd, Math.abs(mean) * 0.01, 1e-6) };
    };
    this.#overall = stats(all);
    for (const [key, values] of groups) if (values.length >= 3) this.#buckets.set(key, stats(values));
  }

  /** Score: the smaller of |z| over sigma and the slope over its limit (both must break), squashed. */
  judge(test: Series): Judgement {
    const sigma = this.#spec.sigma ?? ADAPTIVE_DEFAULTS.qps.sigma;
    const slopeLimit = this.#spec.slope ?? ADAPTIVE_DEFAULTS.qps.slope;
    const z = Array.from(test.v, (v, i) => {
      const { mean, sd } = this.#buckets.get(this.#bucket(test.t[i]!)) ?? this.#overall;
      return Number.isFinite(v) ? (v - mean) / sd : 0;
    });
    const n = z.length;
    const judgement: Judgement = { anomalous: new Uint8Array(n), score: new Float64Array(n) };
    z.forEach((zi, i) => {
      const slope = leastSquaresSlope(z.slice(Math.max(0, i - 4), i + 1));
      const departure = this.#spec.direction === 'up' ? zi : this.#spec.direction === 'down' ? -zi : Math.abs(zi);
      const trend = zi > 0 ? slope : -slope;
      judgement.score[i] = squash(Math.min(departure / sigma, slopeLimit > 0 ? trend / slopeLimit : trend > 0 ? Infinity : 0));
      judgement.anomalous[i] = this.#direction(zi, sigma) && (zi > 0 ? slope > slopeLimit : slope < -slopeLimit) ? 1 : 0;
    });
    return judgement;
  }

  #direction(z: number, sigma: number): boolean {
    const direction = this.#spec.direction;
    return direction === 'up' ? z > sigma : direction === 'down' ? z < -sigma : Math.abs(z) > sigma;
  }
}

/** Least-squares slope of evenly spaced values, per step. */
export function leastSquaresSlope(values: readonly number[]): number {
  const n = values.length;
  if (n < 2) return 0;
  const meanX = (n - 1) / 2;
  const meanY = values.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  values.forEach((y, x) => {
    num += (x - meanX) * (y - meanY);
    den += (x - meanX) ** 2;
  });
  return num / den;
}

/**
 * Error rate: the value is the mean over the last minute (`aggregate`); its threshold is the
 * p95 (`quantile`) of the training values in the same 15-minute window of the day (`window`, UTC;
 * the whole training set when that window has no history) plus 0.005 (`margin`). An alarm fires
 * once the value has stayed above the threshold for more than 90 s (`for`).
 */
class ErrorRatePreset implements AdaptiveDetector {
  readonly name: string;
  /** the preset's `for`: a breach alarms once it has lasted longer */
  readonly rule: AlarmRule;
  readonly #spec: AdaptiveSpec;
  readonly #epochMs: number;
  #byWindow = new Map<number, number>();
  #overall = Number.NaN;
  #train: Series | undefined;

  constructor(spec: AdaptiveSpec, epochMs: number) {
    this.name = spec.name;
    this.rule = { kind: 'for', ms: spec.forMs ?? ADAPTIVE_DEFAULTS['error-rate'].forMs };
    this.#spec = spec;
    this.#epochMs = epochMs;
  }

  appliesTo(series: Series): boolean {
    return patternMatches(series, this.#spec.series ?? ADAPTIVE_DEFAULTS['error-rate'].series);
  }

  #windowOf(t: number): number {
    const windowMs = this.#spec.windowMs ?? ADAPTIVE_DEFAULTS['error-rate'].windowMs;
    return Math.floor((((this.#epochMs + t) % DAY) + DAY) % DAY / windowMs);
  }

  fit(train: Series): void {
    const q = this.#spec.quantile ?? ADAPTIVE_DEFAULTS['error-rate'].quantile;
    const groups = new Map<number, number[]>();
    const all: number[] = [];
    train.t.forEach((t, i) => {
      const v = train.v[i]!;
      if (!Number.isFinite(v)) return;
      const key = this.#windowOf(t);
      if (!groups.has(key)) groups.set(key, []);
      groups.get(key)!.push(v);
      all.push(v);
    });
    this.#overall = percentile(all, q);
    for (const [key, values] of groups) this.#byWindow.set(key, percentile(values, q));
    this.#train = train;
  }

  /** A point is anomalous when the minute's mean is above its threshold (score: mean over threshold); the rule is the preset's `for`. */
  judge(test: Series): Judgement {
    const margin = this.#spec.margin ?? ADAPTIVE_DEFAULTS['error-rate'].margin;
    const aggregateMs = this.#spec.aggregateMs ?? ADAPTIVE_DEFAULTS['error-rate'].aggregateMs;
    // the minute-level value may reach back into training data: those points are inputs, never judged
    const tail = this.#train ? { t: Array.from(this.#train.t), v: Array.from(this.#train.v) } : { t: [], v: [] };
    const t = [...tail.t, ...test.t];
    const v = [...tail.v, ...test.v];
    const offset = tail.t.length;
    const judgement: Judgement = { anomalous: new Uint8Array(test.t.length), score: new Float64Array(test.t.length) };
    let from = 0;
    let sum = 0;
    let count = 0;
    for (let i = 0; i < t.length; i++) {
      if (Number.isFinite(v[i]!)) { sum += v[i]!; count++; }
      while (t[from]! <= t[i]! - aggregateMs) {
        if (Number.isFinite(v[from]!)) { sum -= v[from]!; count--; }
        from++;
      }
      if (i < offset) continue;
      const value = count > 0 ? sum / count : Number.NaN;
      const threshold = (this.#byWindow.get(this.#windowOf(t[i]!)) ?? this.#overall) + margin;
      judgement.score[i - offset] = squash(threshold > 0 ? value / threshold : value > threshold ? Infinity : 0);
      judgement.anomalous[i - offset] = value > threshold ? 1 : 0;
    }
    return judgement;
  }
}

/**
 * Latency: p99 and p50 smoothed over a window that adapts to the noise of the training p99
 * (5 s for a steady series up to 30 s for a noisy one: 5 s x (1 + 10 x its coefficient of
 * variation)). A point is anomalous when the smoothed p99 breaks the baseline's upper bound
 * (training mean + 3 sigma) while the smoothed p50 has risen more than 15% over its training
 * median. Needs the p50 series beside each p99 series (same labels, `p99` → `p50` in the name).
 */
class LatencyPreset implements AdaptiveDetector {
  readonly name: string;
  readonly rule: AlarmRule;
  readonly #spec: AdaptiveSpec;
  readonly #find: (name: string, labels: Record<string, string>) => Series | undefined;
  readonly #trainUntil: number;
  #upper = Number.NaN;
  #p50Base = Number.NaN;
  #windowMs = 5000;
  #p50: Series | undefined;

  constructor(spec: AdaptiveSpec, find: (name: string, labels: Record<string, string>) => Series | undefined, trainUntil: number) {
    this.name = spec.name;
    this.rule = spec.rule ?? { kind: 'breach' };
    this.#spec = spec;
    this.#find = find;
    this.#trainUntil = trainUntil;
  }

  appliesTo(series: Series): boolean {
    return patternMatches(series, this.#spec.series ?? ADAPTIVE_DEFAULTS.latency.series);
  }

  fit(train: Series): void {
    const companion = this.#find(train.name.replace('p99', 'p50'), train.labels);
    if (!companion || companion.name === train.name) throw new MoatError(`the latency preset needs the p50 series beside ${seriesLabel(train)} (${train.name.replace('p99', 'p50')} with the same labels)`);
    this.#p50 = companion;
    const values = Array.from(train.v).filter(Number.isFinite);
    const mean = values.reduce((a, b) => a + b, 0) / values.length;
    const sd = Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(1, values.length - 1));
    const sigma = this.#spec.sigma ?? ADAPTIVE_DEFAULTS.latency.sigma;
    this.#upper = mean + sigma * Math.max(sd, Math.abs(mean) * 0.01);
    const cv = mean === 0 ? 1 : sd / Math.abs(mean);
    const min = this.#spec.minWindowMs ?? ADAPTIVE_DEFAULTS.latency.minWindowMs;
    const max = this.#spec.maxWindowMs ?? ADAPTIVE_DEFAULTS.latency.maxWindowMs;
    this.#windowMs = Math.min(max, Math.max(min, min * (1 + 10 * cv)));
    const p50Train = Array.from(companion.v).filter((_, i) => companion.t[i]! < this.#trainUntil);
    this.#p50Base = median(p50Train);
  }

  /** Score: the smaller of the smoothed p99 over its bound and the smoothed p50 over its allowed rise (both must break), squashed. */
  judge(test: Series): Judgement {
    const p50 = this.#p50!;
    const rise = this.#spec.p50Rise ?? ADAPTIVE_DEFAULTS.latency.p50Rise;
    const smooth = (series: Series, t: number) => {
      let sum = 0;
      let count = 0;
      for (let i = 0; i < series.t.length; i++) {
        if (series.t[i]! > t) break;
        if (series.t[i]! > t - this.#windowMs && Number.isFinite(series.v[i]!)) { sum += series.v[i]!; count++; }
      }
      return count ? sum / count : Number.NaN;
    };
    const n = test.t.length;
    const judgement: Judgement = { anomalous: new Uint8Array(n), score: new Float64Array(n) };
    const p50Limit = this.#p50Base * (1 + rise);
    for (let i = 0; i < n; i++) {
      const p99 = smooth(test, test.t[i]!);
      const p50Now = smooth(p50, test.t[i]!);
      const x = Math.min(p99 / this.#upper, p50Limit > 0 ? p50Now / p50Limit : p50Now > p50Limit ? Infinity : 0);
      judgement.score[i] = squash(Number.isFinite(x) || x === Infinity ? x : 0);
      judgement.anomalous[i] = p99 > this.#upper && p50Now > p50Limit ? 1 : 0;
    }
    return judgement;
  }
}
