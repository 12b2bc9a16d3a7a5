import type { Alarm, Detection, FaultWindow } from '../core/detection.ts';
import type { DetectorSummary } from '../core/journal.ts';

/** NAB cost profiles: weight of a false positive and of a false negative. */
export const NAB_PROFILES = {
  standard: { fp: 0.11, fn: 1.0 },
  reward_low_fp: { fp: 0.22, fn: 1.0 },
  reward_low_fn: { fp: 0.11, fn: 2.0 },
} as const;
export type NabProfile = keyof typeof NAB_PROFILES;

/**
 * NAB's scaled sigmoid for a detection `ttdMs` into a window of length `windowMs`:
 * 1 at the start of the window, 0 at its end.
 */
export function nabSigmoid(ttdMs: number, windowMs: number): number {
  return (2 / (1 + Math.exp(5 * (ttdMs / windowMs - 1))) - 1) / 0.98661;
}

export interface SeriesDetection extends Detection {
  series: string;
}

/** Per detector over all faults; the journal's `DetectorSummary`. */
export type DetectorScore = DetectorSummary;

export interface Scores {
  graceMs: number;
  /** per fault x detector: the first alarm on any watched series */
  detections: Detection[];
  /** per fault x detector x series */
  seriesDetections: SeriesDetection[];
  falseAlarms: Alarm[];
  detectors: DetectorScore[];
}

/**
 * Scores alarms against fault ground truth. An alarm inside `[appliedAt, healedAt + grace]`
 * detects that fault; an alarm in the judged range outside every window is a false alarm.
 * `judgedFrom` is where training ended: earlier points are never judged.
 */
export function scoreAlarms(options: { faults: readonly FaultWindow[]; alarms: readonly Alarm[]; detectors: readonly string[]; series: readonly string[]; graceMs: number; judgedFrom: number; judgedUntil: number }): Scores {
  const { faults, alarms, graceMs } = options;
  const inWindow = (t: number, f: FaultWindow) => t >= f.appliedAt && t <= f.healedAt + graceMs;
  const judged = alarms.filter((a) => a.t >= options.judgedFrom && a.t <= options.judgedUntil);
  const seriesDetections: SeriesDetection[] = [];
  const detections: Detection[] = [];
  for (const fault of faults) {
    for (const detector of options.detectors) {
      let best: Alarm | undefined;
      for (const series of options.series) {
        const first = judged.filter((a) => a.detector === detector && a.series === series && inWindow(a.t, fault)).sort((a, b) => a.t - b.t)[0];
        seriesDetections.push({ faultId: fault.id, detector, series, ttdMs: first ? first.t - fault.appliedAt : null, ...(first ? { alarm: first } : {}) });
        if (first && (!best || first.t < best.t)) best = first;
      }
      detections.push({ faultId: fault.id, detector, ttdMs: best ? best.t - fault.appliedAt : null, ...(best ? { alarm: best, series: best.series } : {}) });
    }
  }
  const falseAlarms = judged.filter((a) => !faults.some((f) => inWindow(a.t, f)));
  const judgedHours = Math.max(1e-9, (options.judgedUntil - options.judgedFrom) / 3_600_000);
  const detectors = options.detectors.map((detector): DetectorScore => {
    const mine = detections.filter((d) => d.detector === detector);
    const ttds = mine.map((d) => d.ttdMs).filter((t): t is number => t !== null).sort((a, b) => a - b);
    const fa = falseAlarms.filter((a) => a.detector === detector).length;
    const nab = {} as Record<NabProfile, number>;
    const nabNormalized = {} as Record<NabProfile, number>;
    for (const [profile, weights] of Object.entries(NAB_PROFILES) as [NabProfile, { fp: number; fn: number }][]) {
      let score = -weights.fp * fa;
      for (const detection of mine) {
        const fault = faults.find((f) => f.id === detection.faultId)!;
        score += detection.ttdMs === null ? -weights.fn : nabSigmoid(detection.ttdMs, fault.healedAt + graceMs - fault.appliedAt);
      }
      nab[profile] = score;
      // NAB's normalisation: the null detector scores -A_FN per fault, the perfect one +1 per fault
      const nullScore = -weights.fn * mine.length;
      const perfect = mine.length;
      nabNormalized[profile] = perfect === nullScore ? 0 : (100 * (score - nullScore)) / (perfect - nullScore);
    }
    return {
      detector, faults: mine.length, detected: ttds.length, detectionRate: mine.length === 0 ? 0 : ttds.length / mine.length, missed: mine.length - ttds.length,
      medianTtdMs: ttds.length === 0 ? null : ttds.length % 2 ? ttds[ttds.length >> 1]! : (ttds[ttds.length / 2 - 1]! + ttds[ttds.length / 2]!) / 2,
      falseAlarms: fa, falseAlarmsPerHour: fa / judgedHours, nab, nabNormalized,
    };
  });
  return { graceMs, detections, seriesDetections, falseAlarms, detectors };
}
