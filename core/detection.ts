import type { Series } from './series.ts';

import type { AlarmRule } from './scenario.ts';

/** One point a detector flags. `t` is ms since the run clock's zero. */
export interface Alarm {
  detector: string;
  /** the series' label, e.g. `load_error_ratio{load=kv,op=all}` */
  series: string;
  t: number;
  /** the point's anomaly score, in [0, 1] (see `Judgement`) */
  score: number;
}

/**
 * What a detector says of each judged point. `score` is in [0, 1]: the detector's own statistic
 * over its threshold, x, squashed as x / (1 + x), so 0.5 is exactly the detector's threshold and
 * a point is anomalous when its score is above 0.5. A sweep over one score threshold therefore
 * moves every detector's sensitivity the same way. `anomalous` is the detector's own verdict
 * (score > 0.5, kept apart so a threshold exactly met stays what the detector decided).
 */
export interface Judgement {
  anomalous: Uint8Array;
  score: Float64Array;
}

/**
 * A detector learns what normal looks like from training data, then judges later points.
 * A detector never judges the points it was fitted on. Its alarm rule turns anomalous points
 * into alarms (`detect/rules.ts`).
 */
export interface Detector {
  readonly name: string;
  readonly rule: AlarmRule;
  fit(train: Series): void;
  judge(test: Series): Judgement;
  /** detectors that name their series (static thresholds, presets) judge only those */
  appliesTo?(series: Series): boolean;
}

/** A statistic over its threshold (x >= 0; x > 1 is anomalous) as a score in [0, 1). */
export function squash(x: number): number {
  if (!(x > 0)) return 0;
  if (x === Infinity) return 1;
  return x / (1 + x);
}

/** The fault window a detection is judged against. */
export interface FaultWindow {
  id: string;
  appliedAt: number;
  healedAt: number;
}

export interface Detection {
  faultId: string;
  detector: string;
  /** the series that alarmed first, or undefined on a miss */
  series?: string;
  ttdMs: number | null;
  alarm?: Alarm;
}
