import type { Series } from './series.ts';

/** One point a detector flags. `t` is ms since the run clock's zero. */
export interface Alarm {
  detector: string;
  /** the series' label, e.g. `load_error_ratio{load=kv,op=all}` */
  series: string;
  t: number;
  score: number;
}

/**
 * A detector learns what normal looks like from training data, then judges later points.
 * A detector never judges the points it was fitted on.
 */
export interface Detector {
  readonly name: string;
  fit(train: Series): void;
  score(test: Series): Alarm[];
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
