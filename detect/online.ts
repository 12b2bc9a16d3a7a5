import type { Detector, Judgement } from '../core/detection.ts';
import type { AlarmRule, OnlineSettings } from '../core/scenario.ts';
import type { Series } from '../core/series.ts';
import { errorMessage } from '../core/errors.ts';
import { StreamingRule } from './rules.ts';

/**
 * How a detector keeps its baseline up to date as points arrive (`mode: online`; the type lives
 * in core/scenario.ts):
 *
 * - `windowMs`, `maxPoints`: the trailing training window, in time and in points (the smaller wins;
 *   the point cap bounds the cost of a refit).
 * - `refitEvery`: a new model every N points; the points in between are judged by the last one.
 * - `adaptAfterMs`: an alarm that holds this long is a level that stays; from then on the baseline
 *   is learnt from the points since the alarm began (drift adaptation), and the rule starts afresh.
 * - `minPoints`: fewer admitted training points than this and nothing is judged yet.
 * - `forget`: at an adaptation, drop the older points from the window (a detector that judges a
 *   location needs the new level alone), or keep them (kNN judges shapes, and the new level's
 *   shapes join the old ones).
 */
export type { OnlineSettings };

/** The settings every online detector starts from; each kind sets its own `refitEvery`. */
export const ONLINE_DEFAULTS: Omit<OnlineSettings, 'refitEvery' | 'forget'> = {
  windowMs: 7 * 24 * 3_600_000,
  maxPoints: 2016,
  adaptAfterMs: 3 * 3_600_000,
  minPoints: 10,
};

/** A level the baseline took as its new normal: when, and how long after the alarm began. */
export interface Adaptation {
  t: number;
  afterMs: number;
}

export interface OnlineResult {
  /** one entry per point of the series; points before `start` score 0 */
  judgement: Judgement;
  /** indices of the points where an alarm fires */
  alarms: number[];
  adaptations: Adaptation[];
  refits: number;
  /** refits whose fit or forecast failed (their points were not judged), and the last reason */
  failedRefits: number;
  lastError?: string;
}

/**
 * Judges `series` from index `start` on as if its points arrived one by one. Each point is judged
 * only by a model fitted on earlier points: the admitted points of the trailing window. Points
 * while the alarm rule holds are not admitted (an anomaly does not become the baseline while it
 * lasts), unless the alarm outlasts `adaptAfterMs`: then the points since it began are admitted,
 * older ones are dropped from the window, and the rule forgets its state.
 *
 * Cost per point: O(refit cost / refitEvery + judge cost); building a window is O(maxPoints).
 */
export function judgeOnline(series: Series, start: number, create: () => Detector, rule: AlarmRule, settings: OnlineSettings): OnlineResult {
  const n = series.t.length;
  const judgement: Judgement = { anomalous: new Uint8Array(n), score: new Float64Array(n) };
  const admitted = new Uint8Array(n);
  admitted.fill(1, 0, Math.min(start, n));
  const streaming = new StreamingRule(rule);
  const alarms: number[] = [];
  const adaptations: Adaptation[] = [];
  let refits = 0;
  let failedRefits = 0;
  let lastError: string | undefined;
  /** after an adaptation the window starts where the new level began */
  let floorT = -Infinity;
  let alarmStart: number | undefined;
  let i = Math.max(0, start);
  while (i < n) {
    const train = trainingWindow(series, admitted, i, Math.max(floorT, series.t[i]! - settings.windowMs), settings.maxPoints);
    if (train.t.length < settings.minPoints) {
      admitted[i] = 1;
      i++;
      continue;
    }
    const end = Math.min(n, i + settings.refitEvery);
    const chunk: Series = { ...series, t: series.t.subarray(i, end), v: series.v.subarray(i, end) };
    let judged: Judgement;
    refits++;
    try {
      const detector = create();
      detector.fit(train);
      judged = detector.judge(chunk);
    } catch (error) {
      // one failed refit (an optimizer that did not converge) leaves its points unjudged; the next refit tries again
      failedRefits++;
      lastError = errorMessage(error);
      admitted.fill(1, i, end);
      i = end;
      continue;
    }
    let next = end;
    for (let k = i; k < end; k++) {
      const anomalous = judged.anomalous[k - i]! === 1;
      judgement.anomalous[k] = anomalous ? 1 : 0;
      judgement.score[k] = judged.score[k - i]!;
      const { met, fired } = streaming.push(anomalous, series.t[k]!);
      if (fired) {
        alarms.push(k);
        alarmStart = k;
      }
      if (!met) {
        admitted[k] = 1;
        alarmStart = undefined;
        continue;
      }
      if (alarmStart !== undefined && series.t[k]! - series.t[alarmStart]! >= settings.adaptAfterMs) {
        // the level stayed: it is the new normal, learnt from where it began
        adaptations.push({ t: series.t[k]!, afterMs: series.t[k]! - series.t[alarmStart]! });
        admitted.fill(1, alarmStart, k + 1);
        if (settings.forget) floorT = series.t[alarmStart]!;
        alarmStart = undefined;
        streaming.reset();
        next = k + 1;
        break;
      }
    }
    i = next;
  }
  return { judgement, alarms, adaptations, refits, failedRefits, ...(lastError === undefined ? {} : { lastError }) };
}

/** The admitted points before `end` with t >= `from`, the last `maxPoints` of them. O(window). */
function trainingWindow(series: Series, admitted: Uint8Array, end: number, from: number, maxPoints: number): Series {
  let count = 0;
  let first = end;
  for (let j = end - 1; j >= 0 && count < maxPoints; j--) {
    if (series.t[j]! < from) break;
    if (admitted[j]) count++;
    first = j;
  }
  const t = new Float64Array(count);
  const v = new Float64Array(count);
  let k = 0;
  for (let j = first; j < end; j++) {
    if (!admitted[j]) continue;
    t[k] = series.t[j]!;
    v[k] = series.v[j]!;
    k++;
  }
  return { ...series, t, v };
}
