import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { Alarm, Detector } from '../core/detection.ts';
import { seriesLabel, type Series } from '../core/series.ts';
import { errorMessage } from '../core/errors.ts';
import { RobustZDetector } from './robust-z.ts';
import { MstlDetector, ProphetDetector } from './forecast.ts';
import { StaticDetector } from './static.ts';
import { createAdaptive } from './adaptive.ts';
import { loadAugurs, type Augurs } from './augurs.ts';
import type { DetectorSpec } from './spec.ts';
import { describeRule } from './rules.ts';

export { RobustZDetector, median } from './robust-z.ts';
export { MstlDetector, ProphetDetector, regularize, stepOf, judgeAgainstBands } from './forecast.ts';
export { StaticDetector, matchesSeries } from './static.ts';
export { ADAPTIVE_DEFAULTS, leastSquaresSlope } from './adaptive.ts';
export { kOfM } from './alarm-rule.ts';
export { applyRule, describeRule, DEFAULT_RULE, type AlarmRule } from './rules.ts';
export { defaultSpec, DETECTOR_KINDS, ADAPTIVE_SETTINGS, type DetectorSpec, type DetectorKind, type Direction, type AdaptivePreset } from './spec.ts';
export { scoreAlarms, nabSigmoid, NAB_PROFILES, type Scores, type DetectorScore, type SeriesDetection } from './score.ts';
export { loadAugurs } from './augurs.ts';

export interface DetectorContext {
  augurs?: Augurs;
  /** wall-clock ms of the series' t = 0, for models that know calendars (Prophet, presets) */
  epochMs: number;
  /** finds a companion series (the latency preset's p50) */
  find?: (name: string, labels: Record<string, string>) => Series | undefined;
  trainUntil?: number;
}

/** One line per detector for the plan. */
export function describeDetector(spec: DetectorSpec): string {
  const rule = spec.rule ? describeRule(spec.rule) : 'preset rule';
  const direction = spec.direction === 'both' ? '' : `, ${spec.direction} only`;
  switch (spec.kind) {
    case 'robust-z': return `${spec.name} (robust z > ${spec.threshold}, ${rule}${direction})`;
    case 'mstl': return `${spec.name} (MSTL${spec.periodsMs.length ? ` periods ${spec.periodsMs.map((p) => `${p / 1000} s`).join(', ')}` : ''} + AutoETS, ${spec.level * 100}% interval, ${rule}${direction})`;
    case 'prophet': return `${spec.name} (Prophet, ${spec.level * 100}% interval, ${rule}${direction})`;
    case 'static': return `${spec.name} (static: ${spec.thresholds.map((t) => `${t.series} ${t.operator} ${t.value}`).join(', ')}; ${rule})`;
    case 'adaptive': return `${spec.name} (adaptive ${spec.preset} preset${spec.series ? ` on ${spec.series.join(', ')}` : ''})`;
  }
}

export function createDetector(spec: DetectorSpec, context: DetectorContext): Detector {
  switch (spec.kind) {
    case 'robust-z': return new RobustZDetector(spec);
    case 'static': return new StaticDetector(spec);
    case 'mstl':
      if (!context.augurs) throw new Error('mstl needs augurs loaded (loadAugurs)');
      return new MstlDetector(spec, context.augurs);
    case 'prophet':
      if (!context.augurs) throw new Error('prophet needs augurs loaded (loadAugurs)');
      return new ProphetDetector(spec, context.augurs, context.epochMs);
    case 'adaptive':
      return createAdaptive(spec, context.epochMs, context.find ?? (() => undefined), context.trainUntil ?? Infinity);
  }
}

/** Whether a detector judges a series at all (static thresholds and presets name theirs). */
function appliesTo(detector: Detector, series: Series): boolean {
  const scoped = detector as Partial<{ appliesTo(s: Series): boolean }>;
  if (typeof scoped.appliesTo === 'function') return scoped.appliesTo(series);
  return true;
}

/** Splits a series at `trainUntil`: points before it train, later points are judged. */
export function splitAt(series: Series, trainUntil: number): { train: Series; test: Series } {
  let cut = 0;
  while (cut < series.t.length && series.t[cut]! < trainUntil) cut++;
  return {
    train: { ...series, t: series.t.subarray(0, cut), v: series.v.subarray(0, cut) },
    test: { ...series, t: series.t.subarray(cut), v: series.v.subarray(cut) },
  };
}

export interface DetectorRun {
  alarms: Alarm[];
  /** a detector that could not fit or judge a series says why; the others go on */
  errors: { detector: string; series: string; error: string }[];
}

/** One series to judge: what it trains on, and what is judged. */
export interface DetectorJob {
  series: Series;
  train: Series;
  test: Series;
}

export interface JobOptions {
  trainUntil: number;
  epochMs: number;
}

/** Runs every detector on every job, in order. Shared by the in-thread path and the workers. */
export async function scoreJobs(jobs: readonly DetectorJob[], specs: readonly DetectorSpec[], options: JobOptions, pool: readonly Series[]): Promise<DetectorRun> {
  const needsAugurs = specs.some((s) => s.kind === 'mstl' || s.kind === 'prophet');
  const find = (name: string, labels: Record<string, string>) => pool.find((s) => s.name === name && seriesLabel({ name, labels: s.labels }) === seriesLabel({ name, labels }));
  const context: DetectorContext = { epochMs: options.epochMs, find, trainUntil: options.trainUntil, ...(needsAugurs ? { augurs: await loadAugurs() } : {}) };
  const run: DetectorRun = { alarms: [], errors: [] };
  for (const { series: s, train, test } of jobs) {
    for (const spec of specs) {
      try {
        const detector = createDetector(spec, context);
        if (!appliesTo(detector, s)) continue;
        if (spec.kind !== 'static' && train.t.length < 5) {
          run.errors.push({ detector: spec.name, series: seriesLabel(s), error: `only ${train.t.length} training points (needs 5)` });
          continue;
        }
        detector.fit(train);
        run.alarms.push(...detector.score(test));
      } catch (error) {
        run.errors.push({ detector: spec.name, series: seriesLabel(s), error: errorMessage(error) });
      }
    }
  }
  return run;
}

/** Below this many model fits (series x forecasting detectors) one thread is faster than starting workers. */
const PARALLEL_FROM_FITS = 24;

/**
 * Fits a fresh detector per series on the training part (`trainFrom <= t < trainUntil`, or a
 * supplied training series) and collects the alarms on the points after `trainUntil`. A model
 * never judges the points it was fitted on. Forecasting detectors (MSTL, Prophet) on many series
 * run on worker threads, one per core; results come back in the same order either way.
 */
export async function runDetectors(series: readonly Series[], specs: readonly DetectorSpec[], options: { trainUntil: number; trainFrom?: number; epochMs?: number; history?: (s: Series) => Series | undefined; companions?: readonly Series[]; threads?: number }): Promise<DetectorRun> {
  const jobs: DetectorJob[] = series.map((s) => {
    const { train: own, test } = splitAt(s, options.trainUntil);
    return { series: s, train: options.history?.(s) ?? splitAt(own, options.trainFrom ?? -Infinity).test, test };
  });
  const jobOptions: JobOptions = { trainUntil: options.trainUntil, epochMs: options.epochMs ?? 0 };
  const pool = options.companions ?? series;
  const fits = jobs.length * specs.filter((s) => s.kind === 'mstl' || s.kind === 'prophet').length;
  const threads = Math.min(options.threads ?? availableParallelism(), jobs.length);
  if (threads < 2 || fits < PARALLEL_FROM_FITS) return scoreJobs(jobs, specs, jobOptions, pool);
  const chunks = Array.from({ length: threads }, (_, i) => jobs.slice(Math.floor((i * jobs.length) / threads), Math.floor(((i + 1) * jobs.length) / threads)));
  const runs = await Promise.all(chunks.map((chunk) => inWorker(chunk, specs, jobOptions, pool)));
  return { alarms: runs.flatMap((r) => r.alarms), errors: runs.flatMap((r) => r.errors) };
}

function inWorker(jobs: DetectorJob[], specs: readonly DetectorSpec[], options: JobOptions, pool: readonly Series[]): Promise<DetectorRun> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL('./worker.ts', import.meta.url), { workerData: { jobs, specs, options, pool } });
    worker.once('message', (run: DetectorRun) => {
      resolve(run);
      void worker.terminate();
    });
    worker.once('error', reject);
    worker.once('exit', (code) => {
      if (code !== 0) reject(new Error(`detector worker exited with ${code}`));
    });
  });
}
