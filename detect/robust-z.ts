import type { Alarm, Detector } from '../core/detection.ts';
import { seriesLabel, type Series } from '../core/series.ts';
import { applyRule } from './rules.ts';
import { defaultSpec, type DetectorSpec } from './spec.ts';

type RobustZSpec = Extract<DetectorSpec, { kind: 'robust-z' }>;

/** Median of finite values; NaN when there are none. */
export function median(values: ArrayLike<number>): number {
  const finite = Float64Array.from(values).filter(Number.isFinite).sort();
  if (finite.length === 0) return Number.NaN;
  const mid = finite.length >> 1;
  return finite.length % 2 ? finite[mid]! : (finite[mid - 1]! + finite[mid]!) / 2;
}

/**
 * Robust z-score: median and MAD fitted on the training window, k-of-m alarm rule.
 * A training series with no spread (MAD 0, e.g. `has_leader` stuck at 1) gets a floor on the
 * scale of 1% of the median (or 1e-6), so any real departure from a constant counts.
 */
export class RobustZDetector implements Detector {
  readonly name: string;
  readonly #spec: RobustZSpec;
  #center = Number.NaN;
  #scale = Number.NaN;

  constructor(spec: RobustZSpec = defaultSpec('robust-z') as RobustZSpec) {
    this.name = spec.name;
    this.#spec = spec;
  }

  get fitted(): { center: number; scale: number } {
    return { center: this.#center, scale: this.#scale };
  }

  fit(train: Series): void {
    const values = train.v.filter(Number.isFinite);
    this.#center = median(values);
    const deviations = values.map((v) => Math.abs(v - this.#center));
    const mad = median(deviations);
    const meanAbs = values.length === 0 ? 0 : deviations.reduce((a, v) => a + v, 0) / values.length;
    this.#scale = Math.max(1.4826 * mad, 1.2533 * meanAbs, Math.abs(this.#center) * 0.01, 1e-6);
  }

  score(test: Series): Alarm[] {
    if (!Number.isFinite(this.#center)) return [];
    const signed = Array.from(test.v, (v) => (Number.isFinite(v) ? (v - this.#center) / this.#scale : 0));
    const { threshold, direction } = this.#spec;
    const flags = signed.map((z) => (direction === 'up' ? z > threshold : direction === 'down' ? z < -threshold : Math.abs(z) > threshold));
    const label = seriesLabel(test);
    return applyRule(flags, this.#spec.rule).map((i) => ({ detector: this.name, series: label, t: test.t[i]!, score: Math.abs(signed[i]!) }));
  }
}
