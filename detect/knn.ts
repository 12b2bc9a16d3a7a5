import * as z from 'zod';
import { squash, type Detector, type Judgement } from '../core/detection.ts';
import type { AlarmRule, DetectorSpecBase } from '../core/scenario.ts';
import type { Series } from '../core/series.ts';
import { median } from './robust-z.ts';
import { commonOf, detectorCommon } from './schema.ts';
import type { DetectorKind } from './types.ts';

/**
 * Windowed nearest-neighbour anomaly detection with a conformal threshold (in the manner of
 * KNN-CAD): each point is judged as the vector of the last `dimension` values (robustly
 * standardized by the training window), its nonconformity is the mean distance to its
 * `neighbours` nearest vectors of the reference set, and it is anomalous when that exceeds the
 * (1 - alpha) quantile of the nonconformity of the `calibration` most recent training vectors.
 * Shape changes (a stalled counter, a lost daily swing) show up even when every value is in range.
 */
export interface KnnSpec extends DetectorSpecBase {
  kind: 'knn';
  rule: AlarmRule;
  dimension: number;
  neighbours: number;
  calibration: number;
  alpha: number;
}

declare module '../core/scenario.ts' {
  interface DetectorSpecs {
    knn: KnnSpec;
  }
}

const schema = z.strictObject({
  kind: z.literal('knn'), ...detectorCommon,
  dimension: z.int().min(1).max(64).default(8),
  neighbours: z.int().min(1).max(50).default(5),
  calibration: z.int().min(10).max(2000).default(300),
  alpha: z.number().gt(0).lt(0.5).default(0.005),
});

export const knn: DetectorKind<KnnSpec, z.output<typeof schema>> = {
  kind: 'knn',
  schema,
  build: (document, path, check) => ({ ...commonOf(document, 'knn', path, check, 50, false), kind: 'knn', dimension: document.dimension, neighbours: document.neighbours, calibration: document.calibration, alpha: document.alpha }),
  describe: (spec) => `windowed kNN, ${spec.dimension}-point vectors, ${spec.neighbours} neighbours, conformal alpha ${spec.alpha} over ${spec.calibration} calibration points`,
  create: (spec) => new KnnDetector(spec),
  needsWasm: false,
};

/** At most this many reference vectors: judging a point costs O(reference x dimension). */
const MAX_REFERENCE = 2000;

export class KnnDetector implements Detector {
  readonly name: string;
  readonly rule: AlarmRule;
  readonly #spec: KnnSpec;
  #center = 0;
  #scale = 1;
  /** reference vectors, row after row */
  #reference = new Float64Array(0);
  #rows = 0;
  #threshold = Number.NaN;
  /** the standardized last dimension - 1 training values, to build the first judged vectors */
  #tail: number[] = [];

  constructor(spec: KnnSpec) {
    this.name = spec.name;
    this.rule = spec.rule;
    this.#spec = spec;
  }

  fit(train: Series): void {
    const values = Array.from(train.v).filter(Number.isFinite);
    const d = this.#spec.dimension;
    if (values.length < d + this.#spec.neighbours + 2) return;
    this.#center = median(values);
    const deviations = values.map((v) => Math.abs(v - this.#center));
    this.#scale = Math.max(1.4826 * median(deviations), Math.abs(this.#center) * 0.001, 1e-9);
    const z = values.map((v) => (v - this.#center) / this.#scale);
    const vectors = z.length - d + 1;
    // the reference is every vector of the window (at most MAX_REFERENCE, the latest); the
    // calibration vectors are its most recent ones, each judged as a new point would be: against
    // the reference vectors that share none of its values
    const referenceRows = Math.min(MAX_REFERENCE, vectors);
    const firstReference = vectors - referenceRows;
    this.#rows = referenceRows;
    this.#reference = new Float64Array(referenceRows * d);
    for (let r = 0; r < referenceRows; r++) for (let j = 0; j < d; j++) this.#reference[r * d + j] = z[firstReference + r + j]!;
    const calibration = Math.min(this.#spec.calibration, Math.max(1, Math.floor(referenceRows / 4)));
    const scores: number[] = [];
    const vector = new Float64Array(d);
    for (let c = vectors - calibration; c < vectors; c++) {
      for (let j = 0; j < d; j++) vector[j] = z[c + j]!;
      // reference rows overlapping this vector in time are left out
      scores.push(this.#nonconformity(vector, c - firstReference - d + 1));
    }
    scores.sort((a, b) => a - b);
    const rank = Math.min(scores.length - 1, Math.ceil((1 - this.#spec.alpha) * (scores.length + 1)) - 1);
    this.#threshold = Math.max(scores[rank]!, 1e-9);
    this.#tail = z.slice(z.length - (d - 1));
  }

  /** Mean Euclidean distance to the k nearest of the first `rows` reference vectors. */
  #nonconformity(vector: Float64Array, rows = this.#rows): number {
    const d = this.#spec.dimension;
    const k = Math.min(this.#spec.neighbours, Math.max(1, rows));
    const nearest = new Float64Array(k).fill(Infinity);
    for (let r = 0; r < rows; r++) {
      let sum = 0;
      const base = r * d;
      for (let j = 0; j < d && sum < nearest[k - 1]!; j++) {
        const diff = this.#reference[base + j]! - vector[j]!;
        sum += diff * diff;
      }
      if (sum < nearest[k - 1]!) {
        let at = k - 1;
        while (at > 0 && nearest[at - 1]! > sum) {
          nearest[at] = nearest[at - 1]!;
          at--;
        }
        nearest[at] = sum;
      }
    }
    let total = 0;
    for (let i = 0; i < k; i++) total += Math.sqrt(nearest[i]!);
    return total / k;
  }

  /**
   * Score: the point's nonconformity over the calibration threshold, squashed. `direction`
   * restricts it to points above (up) or below (down) the training median.
   */
  judge(test: Series): Judgement {
    const n = test.t.length;
    const judgement: Judgement = { anomalous: new Uint8Array(n), score: new Float64Array(n) };
    if (!Number.isFinite(this.#threshold)) return judgement;
    const d = this.#spec.dimension;
    const recent = [...this.#tail];
    const vector = new Float64Array(d);
    for (let i = 0; i < n; i++) {
      const v = test.v[i]!;
      const z = Number.isFinite(v) ? (v - this.#center) / this.#scale : (recent[recent.length - 1] ?? 0);
      recent.push(z);
      if (recent.length > d) recent.shift();
      if (recent.length < d || !Number.isFinite(v)) continue;
      for (let j = 0; j < d; j++) vector[j] = recent[j]!;
      const side = this.#spec.direction === 'up' ? z > 0 : this.#spec.direction === 'down' ? z < 0 : true;
      // the first judged vectors still overlap the last reference rows: those are left out
      const x = side ? this.#nonconformity(vector, this.#rows - Math.max(0, d - 1 - i)) / this.#threshold : 0;
      judgement.score[i] = squash(x);
      judgement.anomalous[i] = x > 1 ? 1 : 0;
    }
    return judgement;
  }
}
