import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { Alarm, Detector } from '../core/detection.ts';
import type { DetectorSpec } from '../core/scenario.ts';
import { seriesLabel, type Series } from '../core/series.ts';
import { errorMessage, MoatError } from '../core/errors.ts';
import { loadAugurs } from './augurs.ts';
import { createDetector, needsWasm } from './registry.ts';
import { alarmsFrom } from './rules.ts';
import { judgeOnline } from './online.ts';
import type { DetectorContext } from './types.ts';

/** Whether a detector judges a series at all (static thresholds and presets name theirs). */
function appliesTo(detector: Detector, series: Series): boolean {
  return detector.appliesTo?.(series) ?? true;
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
  /** online detectors: where a level that stayed became the new normal */
  adaptations: { detector: string; series: string; t: number; afterMs: number }[];
  /** with `scores`: every judged point's score and verdict, per detector and series */
  scores?: PointScores[];
}

/** A detector's per-point anomaly scores on one series (see `Judgement`). */
export interface PointScores {
  detector: string;
  series: string;
  t: Float64Array;
  v: Float64Array;
  score: Float64Array;
  anomalous: Uint8Array;
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
  /** keep every judged point's score (for `moat detect --scores` and benchmarks) */
  scores?: boolean;
}

/** Runs every detector on every job, in order. Shared by the in-thread path and the workers. */
export async function scoreJobs(jobs: readonly DetectorJob[], specs: readonly DetectorSpec[], options: JobOptions, pool: readonly Series[]): Promise<DetectorRun> {
  const needsAugurs = needsWasm(specs);
  const find = (name: string, labels: Record<string, string>) => pool.find((s) => s.name === name && seriesLabel({ name, labels: s.labels }) === seriesLabel({ name, labels }));
  const context: DetectorContext = { epochMs: options.epochMs, find, trainUntil: options.trainUntil, ...(needsAugurs ? { augurs: await loadAugurs() } : {}) };
  const run: DetectorRun = { alarms: [], errors: [], adaptations: [], ...(options.scores ? { scores: [] } : {}) };
  for (const { series: s, train, test } of jobs) {
    for (const spec of specs) {
      try {
        const detector = createDetector(spec, context);
        if (!appliesTo(detector, s)) continue;
        const label = seriesLabel(s);
        if (spec.online) {
          // online: the training points lead, then every later point is judged as it arrives
          const joined = joinSeries(train, test);
          const result = judgeOnline(joined.series, joined.start, () => createDetector(spec, context), detector.rule, spec.online);
          for (const i of result.alarms) run.alarms.push({ detector: spec.name, series: label, t: joined.series.t[i]!, score: result.judgement.score[i]! });
          for (const a of result.adaptations) run.adaptations.push({ detector: spec.name, series: label, ...a });
          if (result.failedRefits > 0) run.errors.push({ detector: spec.name, series: label, error: `${result.failedRefits} of ${result.refits} refits failed, their points unjudged; the last: ${result.lastError}` });
          run.scores?.push({ detector: spec.name, series: label, t: test.t, v: test.v, score: result.judgement.score.slice(joined.start), anomalous: result.judgement.anomalous.slice(joined.start) });
          continue;
        }
        if (spec.kind !== 'static' && train.t.length < 5) {
          run.errors.push({ detector: spec.name, series: label, error: `only ${train.t.length} training points (needs 5)` });
          continue;
        }
        detector.fit(train);
        const judgement = detector.judge(test);
        run.alarms.push(...alarmsFrom(detector.name, test, judgement, detector.rule));
        run.scores?.push({ detector: spec.name, series: label, t: test.t, v: test.v, ...judgement });
      } catch (error) {
        run.errors.push({ detector: spec.name, series: seriesLabel(s), error: errorMessage(error) });
      }
    }
  }
  return run;
}

/** Training points then judged points as one series; training from elsewhere (earlier runs) that overlaps in time is cut to what comes before the first judged point. */
function joinSeries(train: Series, test: Series): { series: Series; start: number } {
  const first = test.t[0] ?? Infinity;
  let keep = 0;
  while (keep < train.t.length && train.t[keep]! < first) keep++;
  const t = new Float64Array(keep + test.t.length);
  const v = new Float64Array(keep + test.t.length);
  t.set(train.t.subarray(0, keep));
  v.set(train.v.subarray(0, keep));
  t.set(test.t, keep);
  v.set(test.v, keep);
  return { series: { ...test, t, v }, start: keep };
}

/** Below this many model fits (series x forecasting detectors) one thread is faster than starting workers. */
const PARALLEL_FROM_FITS = 24;

/**
 * Fits a fresh detector per series on the training part (`trainFrom <= t < trainUntil`, or a
 * supplied training series) and collects the alarms on the points after `trainUntil`. A model
 * never judges the points it was fitted on. Forecasting detectors (MSTL, Prophet) on many series
 * run on worker threads, one per core; results come back in the same order either way.
 */
export async function runDetectors(series: readonly Series[], specs: readonly DetectorSpec[], options: { trainUntil: number; trainFrom?: number; epochMs?: number; history?: (s: Series) => Series | undefined; companions?: readonly Series[]; threads?: number; scores?: boolean }): Promise<DetectorRun> {
  const jobs: DetectorJob[] = series.map((s) => {
    const { train: own, test } = splitAt(s, options.trainUntil);
    return { series: s, train: options.history?.(s) ?? splitAt(own, options.trainFrom ?? -Infinity).test, test };
  });
  const jobOptions: JobOptions = { trainUntil: options.trainUntil, epochMs: options.epochMs ?? 0, ...(options.scores ? { scores: true } : {}) };
  const pool = options.companions ?? series;
  // online models refit many times: count each series x online detector as many fits
  const fits = jobs.length * specs.reduce((sum, s) => sum + (needsWasm([s]) || s.online ? (s.online ? 24 : 1) : 0), 0);
  const threads = Math.min(options.threads ?? availableParallelism(), jobs.length);
  if (threads < 2 || fits < PARALLEL_FROM_FITS) return scoreJobs(jobs, specs, jobOptions, pool);
  const chunks = Array.from({ length: threads }, (_, i) => jobs.slice(Math.floor((i * jobs.length) / threads), Math.floor(((i + 1) * jobs.length) / threads)));
  const runs = await Promise.all(chunks.map((chunk) => inWorker(chunk, specs, jobOptions, pool)));
  return { alarms: runs.flatMap((r) => r.alarms), errors: runs.flatMap((r) => r.errors), adaptations: runs.flatMap((r) => r.adaptations), ...(options.scores ? { scores: runs.flatMap((r) => r.scores ?? []) } : {}) };
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
