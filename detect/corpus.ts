import { SeededRandom } from '../core/random.ts';
import type { Series } from '../core/series.ts';
import type { FaultWindow } from '../core/detection.ts';

export type AnomalyKind = 'level-shift' | 'spike' | 'ramp' | 'variance';

export interface LabelledSeries {
  series: Series;
  /** the anomaly's window, ground truth */
  window: FaultWindow;
  kind: AnomalyKind;
  /** the anomaly's size in noise sigmas */
  sigmas: number;
  /** where training ends: the first week */
  trainUntil: number;
  stepMs: number;
}

const HOUR = 3_600_000;

/**
 * A labelled corpus for judging detectors, generated from a seed: hourly series over two weeks
 * with daily and weekly seasonality, a weekend dip, a trend and Gaussian noise, each with one
 * anomaly in the second week (level shift, spike, ramp or variance change) of 1 to 5 sigma.
 * The first week trains; every point of the second week is judged.
 */
export function syntheticCorpus(seed: number, count: number): LabelledSeries[] {
  const random = new SeededRandom(seed);
  const gaussian = () => Math.sqrt(-2 * Math.log(1 - random.next())) * Math.cos(2 * Math.PI * random.next());
  const kinds: AnomalyKind[] = ['level-shift', 'spike', 'ramp', 'variance'];
  const corpus: LabelledSeries[] = [];
  for (let n = 0; n < count; n++) {
    const kind = kinds[n % kinds.length]!;
    const sigmas = 1 + (Math.floor(n / kinds.length) % 5);
    const points = 24 * 14;
    const noise = 1 + random.next() * 2;
    const base = 50 + random.next() * 50;
    const daily = 5 + random.next() * 10;
    const weekly = 2 + random.next() * 5;
    const start = 24 * 7 + 12 + Math.floor(random.next() * 24 * 5);
    const length = kind === 'spike' ? 2 : 6 + Math.floor(random.next() * 12);
    const t = new Float64Array(points);
    const v = new Float64Array(points);
    for (let i = 0; i < points; i++) {
      const day = Math.floor(i / 24) % 7;
      let value = base + 0.01 * i + daily * Math.sin((2 * Math.PI * i) / 24) + weekly * Math.sin((2 * Math.PI * i) / 168) + (day >= 5 ? -weekly : 0);
      let sigma = noise;
      const inside = i >= start && i < start + length;
      if (inside) {
        if (kind === 'level-shift' || kind === 'spike') value += sigmas * noise;
        if (kind === 'ramp') value += (sigmas * noise * (i - start + 1)) / length;
        if (kind === 'variance') sigma = noise * (1 + sigmas);
      }
      t[i] = i * HOUR;
      v[i] = value + sigma * gaussian();
    }
    corpus.push({
      series: { name: 'synthetic', labels: { id: String(n), kind, sigmas: String(sigmas) }, t, v },
      window: { id: `anomaly-${n}`, appliedAt: start * HOUR, healedAt: (start + length - 1) * HOUR },
      kind, sigmas, trainUntil: 24 * 7 * HOUR, stepMs: HOUR,
    });
  }
  return corpus;
}
