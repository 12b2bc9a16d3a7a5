import type { Alarm, Detector } from '../core/detection.ts';
import { seriesLabel, type Series } from '../core/series.ts';
import { kOfM } from './alarm-rule.ts';

export interface RobustZOptions {
  /** |x - median| / scale above this is anomalous */
  threshold: number;
  k: number;
  m: number;
}

export const ROBUST_Z_DEFAULTS: RobustZOptions = { threshold: 4, k: 3, m: 5 };

/** Median of finite values; NaN when there are none. */
export function median(values: readonly number[]): number {
  const finite = values.filter(Number.isFinite).sort((a, b) => a - b);
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
  readonly name = 'robust-z';
  readonly #options: RobustZOptions;
  #center = Number.NaN;
  #scale = Number.NaN;

  constructor(options: Partial<RobustZOptions> = {}) {
    this.#options = { ...ROBUST_Z_DEFAULTS, ...options };
  }

  get fitted(): { center: number; scale: number } {
    return { center: this.#center, scale: this.#scale };
  }

  fit(train: Series): void {
    const values = Array.from(train.v).filter(Number.isFinite);
    this.#center = median(values);
    const mad = median(values.map((v) => Math.abs(v - this.#center)));
    const meanAbs = values.length === 0 ? 0 : values.reduce((a, v) => a + Math.abs(v - this.#center), 0) / values.length;
    this.#scale = Math.max(1.4826 * mad, 1.2533 * meanAbs, Math.abs(this.#center) * 0.01, 1e-6);
  }

  score(test: Series): Alarm[] {
    if (!Number.isFinite(this.#center)) return [];
    const scores = Array.from(test.v, (v) => (Number.isFinite(v) ? Math.abs(v - this.#center) / this.#scale : 0));
    const flags = scores.map((z) => z > this.#options.threshold);
    const label = seriesLabel(test);
    return kOfM(flags, this.#options.k, this.#options.m).map((i) => ({ detector: this.name, series: label, t: test.t[i]!, score: scores[i]! }));
  }
}
