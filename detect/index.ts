import type { Alarm, Detector } from '../core/detection.ts';
import { seriesLabel, type Series } from '../core/series.ts';
import { RobustZDetector } from './robust-z.ts';

export { RobustZDetector, ROBUST_Z_DEFAULTS, median } from './robust-z.ts';
export { kOfM } from './alarm-rule.ts';
export { scoreAlarms, nabSigmoid, NAB_PROFILES, type Scores, type DetectorScore, type SeriesDetection } from './score.ts';

const factories: Record<string, () => Detector> = {
  'robust-z': () => new RobustZDetector(),
};

export function detectorNames(): string[] {
  return Object.keys(factories);
}

export function createDetector(name: string): Detector {
  const factory = factories[name];
  if (!factory) throw new Error(`unknown detector ${JSON.stringify(name)} (known: ${detectorNames().join(', ')})`);
  return factory();
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

/** Fits a fresh detector per series on the training part and collects the alarms on the rest. */
export function runDetectors(series: readonly Series[], detectors: readonly string[], trainUntil: number): Alarm[] {
  const alarms: Alarm[] = [];
  for (const s of series) {
    const { train, test } = splitAt(s, trainUntil);
    if (train.t.length < 5) continue; // too little to learn what normal is
    for (const name of detectors) {
      const detector = createDetector(name);
      detector.fit(train);
      alarms.push(...detector.score(test));
    }
  }
  return alarms;
}

/** Whether a series matches a watch pattern: an exact label, a name, or a prefix ending in `*`. */
export function matchesPattern(series: Series, pattern: string): boolean {
  const label = seriesLabel(series);
  if (pattern.endsWith('*')) return label.startsWith(pattern.slice(0, -1));
  return label === pattern || series.name === pattern;
}
