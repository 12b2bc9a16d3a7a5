import type { Alarm, Detector } from '../core/detection.ts';
import { seriesLabel, type Series } from '../core/series.ts';
import { compare } from '../core/thresholds.ts';
import { applyRule } from './rules.ts';
import type { DetectorSpec } from './spec.ts';

/**
 * Whether a series matches a pattern: its full label, its name, a label prefix ending in `*`,
 * or a part of the label between two `*` (`*error_ratio*`).
 */
export function matchesSeries(series: Pick<Series, 'name' | 'labels'>, pattern: string): boolean {
  const label = seriesLabel(series);
  if (pattern.length > 2 && pattern.startsWith('*') && pattern.endsWith('*')) return label.includes(pattern.slice(1, -1));
  if (pattern.endsWith('*')) return label.startsWith(pattern.slice(0, -1));
  return label === pattern || series.name === pattern;
}

/**
 * Fixed thresholds, the alarms most teams still run: a point is anomalous when it breaks a
 * threshold whose pattern matches its series. It learns nothing; a series no threshold names
 * never alarms.
 */
export class StaticDetector implements Detector {
  readonly name: string;
  readonly #spec: Extract<DetectorSpec, { kind: 'static' }>;

  constructor(spec: Extract<DetectorSpec, { kind: 'static' }>) {
    this.name = spec.name;
    this.#spec = spec;
  }

  fit(): void {}

  score(test: Series): Alarm[] {
    const thresholds = this.#spec.thresholds.filter((t) => matchesSeries(test, t.series));
    if (thresholds.length === 0) return [];
    const flags = Array.from(test.v, (v) => Number.isFinite(v) && thresholds.some((t) => compare(v, t.operator, t.value)));
    const label = seriesLabel(test);
    return applyRule(flags, this.#spec.rule).map((i) => {
      const v = test.v[i]!;
      const broken = thresholds.find((t) => compare(v, t.operator, t.value))!;
      return { detector: this.name, series: label, t: test.t[i]!, score: broken.value === 0 ? Math.abs(v) : Math.abs(v / broken.value) };
    });
  }
}
