import * as z from 'zod';
import type { ExecutorSpec, ScenarioCheck } from '../core/scenario.ts';
import type { Series } from '../core/series.ts';
import { matchesSeries } from '../core/series.ts';
import { readSeriesImport } from '../core/series-import.ts';

/*
 * Executors (ExecutorSpec in core/scenario.ts) are open-model: request i is due when the integral
 * of the rate since the start reaches i, whatever happened to the requests before it.
 */

/** The executor's keys in a load's document (beside `rate`). */
export const executorKeys = {
  executor: z.enum(['constant-arrival-rate', 'ramping-arrival-rate', 'shape']).optional(),
  /** ramping-arrival-rate: the rate at t = 0 ("0/s" unless given) */
  startRate: z.string().optional(),
  /** ramping-arrival-rate: each stage ramps linearly to `target` over `duration` */
  stages: z.array(z.strictObject({ duration: z.string(), target: z.string() })).min(1).max(1000).optional(),
  /** shape: replay an imported traffic shape, time-compressed: the mean rate stays `rate` */
  shape: z.strictObject({ file: z.string(), speedup: z.number().positive().default(1), series: z.string().optional() }).optional(),
};

type ExecutorDocument = { rate?: string | undefined; executor?: ExecutorSpec['kind'] | undefined; startRate?: string | undefined; stages?: { duration: string; target: string }[] | undefined; shape?: { file: string; speedup: number; series?: string | undefined } | undefined };

/**
 * The executor of a load document and its rate for sizing (the constant or mean rate, or a ramp's
 * highest). `shape:` alone implies the shape executor, as before executors had names.
 */
export function buildExecutor(doc: ExecutorDocument, path: readonly (string | number)[], check: ScenarioCheck): { executor: ExecutorSpec; ratePerSec: number } {
  const kind = doc.executor ?? (doc.shape ? 'shape' : 'constant-arrival-rate');
  const misplaced = (key: 'startRate' | 'stages' | 'shape', belongs: string) => {
    if (doc[key] !== undefined && kind !== belongs) check.report([...path, key], `${key} belongs to executor: ${belongs}, and this load's executor is ${kind}`);
  };
  misplaced('startRate', 'ramping-arrival-rate');
  misplaced('stages', 'ramping-arrival-rate');
  misplaced('shape', 'shape');
  if (kind === 'ramping-arrival-rate') {
    if (doc.rate !== undefined) check.report([...path, 'rate'], 'a ramping-arrival-rate load takes its rates from startRate and stages[].target, not rate');
    if (!doc.stages) {
      check.report([...path, 'stages'], 'a ramping-arrival-rate load needs stages: [{ duration: 30s, target: 500/s }, ...]');
      return { executor: { kind, startRatePerSec: 0, stages: [] }, ratePerSec: Number.NaN };
    }
    const startRatePerSec = doc.startRate === undefined ? 0 : rateOrZero(doc.startRate, [...path, 'startRate'], check);
    const stages = doc.stages.map((stage, j) => ({
      durationMs: check.duration(stage.duration, [...path, 'stages', j, 'duration']),
      targetPerSec: rateOrZero(stage.target, [...path, 'stages', j, 'target'], check),
    }));
    const ratePerSec = Math.max(startRatePerSec, ...stages.map((s) => s.targetPerSec));
    if (ratePerSec <= 0) check.report([...path, 'stages'], 'every rate of this ramp is zero: it would send nothing');
    return { executor: { kind, startRatePerSec, stages }, ratePerSec };
  }
  if (doc.rate === undefined) {
    check.report([...path, 'rate'], `expected a rate such as "200/s" (the ${kind === 'shape' ? 'mean ' : ''}arrival rate)`);
    return { executor: { kind: 'constant-arrival-rate' }, ratePerSec: Number.NaN };
  }
  const ratePerSec = check.rate(doc.rate, [...path, 'rate']);
  if (kind === 'constant-arrival-rate') return { executor: { kind }, ratePerSec };
  if (!doc.shape) {
    check.report([...path, 'shape'], 'a shape load needs shape: { file: <csv or json series>, speedup: 144 }');
    return { executor: { kind: 'constant-arrival-rate' }, ratePerSec };
  }
  const shape = doc.shape;
  const file = check.file(shape.file, [...path, 'shape', 'file']) ?? '';
  if (file) {
    try {
      const imported = readSeriesImport(file);
      const chosen = shape.series === undefined ? imported.series : imported.series.filter((s) => matchesSeries(s, shape.series!));
      if (chosen.length !== 1) check.report([...path, 'shape', shape.series === undefined ? 'file' : 'series'], `expected exactly one series in ${shape.file}${shape.series ? ` matching ${JSON.stringify(shape.series)}` : ''}, saw ${chosen.length}${shape.series === undefined && chosen.length > 1 ? ' (name one with series:)' : ''}`);
    } catch (error) {
      check.report([...path, 'shape', 'file'], `cannot use ${shape.file}: ${(error as Error).message}`);
    }
  }
  return { executor: { kind: 'shape', file, speedup: shape.speedup, ...(shape.series === undefined ? {} : { series: shape.series }) }, ratePerSec };
}

/** A rate of a ramp: "0/s" is allowed there (a ramp may start or end at rest). */
function rateOrZero(text: string, path: readonly (string | number)[], check: ScenarioCheck): number {
  return /^\s*0+(\.0+)?\s*\/\s*[smh]\s*$/.test(text) ? 0 : check.rate(text, path);
}

/**
 * A piecewise-linear rate over run time: `points` sorted by `tMs` (the first at 0), linear
 * between them; after the last point the last rate is held, or with `loopMs` the whole profile
 * repeats. Every executor becomes one, so the schedule is computed one way on every load kind
 * (and in the Kafka agent's Java, from the same points).
 */
export interface RateProfile {
  points: { tMs: number; perSec: number }[];
  loopMs?: number;
}

/** The rate profile of an executor; `ratePerSec` is the load's constant or mean rate. */
export function rateProfile(executor: ExecutorSpec, ratePerSec: number): RateProfile {
  switch (executor.kind) {
    case 'constant-arrival-rate':
      return { points: [{ tMs: 0, perSec: ratePerSec }] };
    case 'ramping-arrival-rate': {
      const points = [{ tMs: 0, perSec: executor.startRatePerSec }];
      let t = 0;
      for (const stage of executor.stages) {
        t += stage.durationMs;
        points.push({ tMs: t, perSec: stage.targetPerSec });
      }
      return { points };
    }
    case 'shape': {
      const imported = readSeriesImport(executor.file).series;
      const series = executor.series === undefined ? imported[0]! : imported.find((s) => matchesSeries(s, executor.series!))!;
      return shapeProfile(series, ratePerSec, executor.speedup);
    }
  }
}

/**
 * A traffic shape replayed time-compressed: the rate at run time t follows the imported series at
 * `t x speedup` from its start (144: one day in ten minutes), scaled so that its mean is the
 * load's configured rate, linear between points and looped past the end.
 */
export function shapeProfile(shape: Series, ratePerSec: number, speedup: number): RateProfile {
  const t = shape.t;
  const v = Array.from(shape.v, (x) => (Number.isFinite(x) && x > 0 ? x : 0));
  const span = t.length > 1 ? t[t.length - 1]! - t[0]! : 0;
  if (span <= 0) return { points: [{ tMs: 0, perSec: ratePerSec }] };
  const mean = v.reduce((a, b) => a + b, 0) / v.length || 1;
  return {
    points: v.map((x, i) => ({ tMs: (t[i]! - t[0]!) / speedup, perSec: (ratePerSec * x) / mean })),
    loopMs: span / speedup,
  };
}

/** The highest rate a profile asks for (sizes in-flight caps and worker counts), at least `ratePerSec`. */
export function peakRate(profile: RateProfile, ratePerSec: number): number {
  return Math.max(ratePerSec, ...profile.points.map((p) => p.perSec));
}

/** The rate a profile asks for at run time t (ms), per second. */
export function rateAt(profile: RateProfile, tMs: number): number {
  const { points, loopMs } = profile;
  let at = tMs;
  if (loopMs !== undefined && loopMs > 0) at = ((at % loopMs) + loopMs) % loopMs;
  if (at <= points[0]!.tMs) return points[0]!.perSec;
  for (let k = 1; k < points.length; k++) {
    const a = points[k - 1]!;
    const b = points[k]!;
    if (at <= b.tMs) return b.tMs === a.tMs ? b.perSec : a.perSec + ((b.perSec - a.perSec) * (at - a.tMs)) / (b.tMs - a.tMs);
  }
  return points[points.length - 1]!.perSec;
}

/**
 * The due times of an open-model schedule, one after another: request i is due at the first t
 * where the integral of the rate from 0 to t reaches i (request 0 at t = 0 when the rate starts
 * above zero). Exact on each linear piece (a quadratic solved in its stable form), so every
 * worker that walks the same profile gets the same times, and a constant rate gives i / rate.
 */
export class ArrivalSchedule {
  readonly #points: { tMs: number; perMs: number }[];
  readonly #loopMs: number | undefined;
  /** the arrivals in one loop of the profile */
  readonly #perLoop: number;
  /** the segment being walked: points[k] to points[k + 1], or the tail after the last point */
  #k = 0;
  /** arrivals before the current segment, and the loop's start time */
  #before = 0;
  #loopStartMs = 0;
  #loopBefore = 0;
  #next = 0;

  constructor(profile: RateProfile) {
    this.#points = profile.points.map((p) => ({ tMs: p.tMs, perMs: Math.max(0, p.perSec) / 1000 }));
    this.#loopMs = profile.loopMs !== undefined && profile.loopMs > 0 ? profile.loopMs : undefined;
    let total = 0;
    for (let k = 0; k + 1 < this.#points.length; k++) total += segmentArrivals(this.#points[k]!, this.#points[k + 1]!);
    this.#perLoop = total;
    if (this.#loopMs !== undefined && total <= 0) this.#loopMs = undefined;
  }

  /** The due time of the next request, ms since the start; Infinity when no more ever arrive. */
  next(): number {
    const target = this.#next++;
    for (;;) {
      const points = this.#points;
      const a = points[this.#k]!;
      const b = points[this.#k + 1];
      if (!b) {
        if (this.#loopMs !== undefined) {
          // the next loop: the same arrivals again, shifted by the loop's length
          this.#loopStartMs += this.#loopMs;
          this.#loopBefore += this.#perLoop;
          this.#before = this.#loopBefore;
          this.#k = 0;
          continue;
        }
        if (a.perMs <= 0) return Number.POSITIVE_INFINITY;
        return this.#loopStartMs + a.tMs + (target - this.#before) / a.perMs;
      }
      const inSegment = segmentArrivals(a, b);
      const want = target - this.#before;
      if (want < inSegment || (want === inSegment && this.#k + 2 >= points.length && this.#loopMs === undefined)) {
        return this.#loopStartMs + a.tMs + solve(a, b, want);
      }
      this.#before += inSegment;
      this.#k++;
    }
  }
}

function segmentArrivals(a: { tMs: number; perMs: number }, b: { tMs: number; perMs: number }): number {
  return ((a.perMs + b.perMs) / 2) * (b.tMs - a.tMs);
}

/** x in [0, b.t - a.t] where the arrivals since a reach n: r0 x + (r1 - r0) x² / 2L = n. */
function solve(a: { tMs: number; perMs: number }, b: { tMs: number; perMs: number }, n: number): number {
  if (n <= 0) return 0;
  const length = b.tMs - a.tMs;
  const slope = (b.perMs - a.perMs) / length;
  if (Math.abs(slope) < 1e-15) return n / a.perMs;
  const discriminant = a.perMs * a.perMs + 2 * slope * n;
  return (2 * n) / (a.perMs + Math.sqrt(Math.max(0, discriminant)));
}

/**
 * A uniform number in [0, 1) for request i of a load, the same in whichever worker sends it:
 * a counter-based hash (splitmix32) of the load's seed and i, so the request mix does not depend
 * on how requests are split between workers.
 */
export function uniformAt(seed: number, i: number): number {
  let z = (seed ^ Math.imul(i + 1, 0x9e3779b9)) >>> 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
  z = (z ^ (z >>> 16)) >>> 0;
  // a second round with i's high bits, so indices past 2^32 still differ
  z = Math.imul(z ^ Math.floor(i / 4294967296), 0x27d4eb2f) >>> 0;
  return ((z ^ (z >>> 15)) >>> 0) / 4294967296;
}

/** The executor in words, for the plan: "at 200/s", "ramping 100/s -> 5000/s over 2m", … */
export function describeExecutor(spec: { ratePerSec: number; executor: ExecutorSpec }): string {
  const { executor } = spec;
  switch (executor.kind) {
    case 'constant-arrival-rate':
      return `at ${spec.ratePerSec}/s open-model`;
    case 'ramping-arrival-rate': {
      const total = executor.stages.reduce((sum, s) => sum + s.durationMs, 0);
      return `ramping-arrival-rate ${[executor.startRatePerSec, ...executor.stages.map((s) => s.targetPerSec)].map((r) => `${r}/s`).join(' -> ')} over ${total / 1000} s`;
    }
    case 'shape':
      return `at ${spec.ratePerSec}/s mean, shape replayed ${executor.speedup}x from ${executor.file}`;
  }
}
