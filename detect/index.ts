import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { Alarm, Detector } from '../core/detection.ts';
import type { DetectorSpec } from '../core/scenario.ts';
import { seriesLabel, type Series } from '../core/series.ts';
import { errorMessage, MoatError } from '../core/errors.ts';
import { loadAugurs } from './augurs.ts';
import { createDetector, needsWasm } from './registry.ts';
import type { DetectorContext } from './types.ts';

export { DETECTOR_KINDS, detectorKindOf, createDetector, describeDetector, defaultSpec, needsWasm } from './registry.ts';
export type { DetectorContext, DetectorKind } from './types.ts';
export { RobustZDetector, median, type RobustZSpec } from './robust-z.ts';
export { MstlDetector, ProphetDetector, regularize, stepOf, judgeAgainstBands, PROPHET_DEFAULT_SAMPLES, type MstlSpec, type ProphetSpec } from './forecast.ts';
export { StaticDetector, type StaticSpec } from './static.ts';
export { matchesSeries } from '../core/series.ts';
export { ADAPTIVE_DEFAULTS, ADAPTIVE_SETTINGS, leastSquaresSlope, type AdaptiveSpec, type AdaptivePreset } from './adaptive.ts';
export { kOfM } from './alarm-rule.ts';
export { applyRule, describeRule, type AlarmRule } from './rules.ts';
export { DEFAULT_RULE } from './schema.ts';
export { scoreAlarms, nabSigmoid, NAB_PROFILES, type Scores, type DetectorScore, type SeriesDetection } from './score.ts';
export { loadAugurs } from './augurs.ts';
export { earlierWarmups, loadImports, trainingFor } from './baselines.ts';
export { syntheticCorpus } from './corpus.ts';
export type { DetectorSpec, Direction } from '../core/scenario.ts';

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
  const needsAugurs = needsWasm(specs);
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
  const fits = jobs.length * specs.filter((s) => needsWasm([s])).length;
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
      if (code !== 0) reject(new MoatError(`detector worker exited with ${code}`));
    });
  });
}
