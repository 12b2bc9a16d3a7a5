import * as z from 'zod';
import { squash, type Detector, type Judgement } from '../core/detection.ts';
import type { AlarmRule, DetectorSpecBase } from '../core/scenario.ts';
import type { Series } from '../core/series.ts';
import { commonOf, detectorCommon, DEFAULT_RULE } from './schema.ts';
import type { DetectorKind } from './types.ts';

/** Median and MAD of the training window; `threshold` in robust sigmas. */
export interface RobustZSpec extends DetectorSpecBase {
  kind: 'robust-z';
  rule: AlarmRule;
  threshold: number;
}

declare module '../core/scenario.ts' {
  interface DetectorSpecs {
    'robust-z': RobustZSpec;
  }
}

const schema = z.strictObject({ kind: z.literal('robust-z'), ...detectorCommon, threshold: z.number().positive().default(4) });

export const robustZ: DetectorKind<RobustZSpec, z.output<typeof schema>> = {
  kind: 'robust-z',
  schema,
  build: (document, path, check) => ({ ...commonOf(document, 'robust-z', path, check), kind: 'robust-z', threshold: document.threshold }),
  describe: (spec) => `robust z > ${spec.threshold}`,
  create: (spec) => new RobustZDetector(spec),
  needsWasm: false,
};

/** Scratch buffers for `median` and robust-z's deviations, grown as needed (detectors run one at a time per thread). */
let scratch = new Float64Array(4096);
let deviationScratch = new Float64Array(4096);

/** Median of finite values; NaN when there are none. Linear time (quickselect on a copy). */
export function median(values: ArrayLike<number>): number {
  if (scratch.length < values.length) scratch = new Float64Array(Math.max(values.length, scratch.length * 2));
  const finite = scratch;
  let n = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (Number.isFinite(v)) finite[n++] = v;
  }
  if (n === 0) return Number.NaN;
  const mid = n >> 1;
  const upper = select(finite, n, mid);
  if (n % 2) return upper;
  // the lower middle is the largest value left of `mid` after selection
  let lower = -Infinity;
  for (let i = 0; i < mid; i++) if (finite[i]! > lower) lower = finite[i]!;
  return (lower + upper) / 2;
}

/** Hoare's quickselect: the k-th smallest of a[0..n), reordering a so smaller values sit left of k. */
function select(a: Float64Array, n: number, k: number): number {
  let left = 0;
  let right = n - 1;
  while (left < right) {
    const pivot = a[(left + right) >> 1]!;
    let i = left;
    let j = right;
    while (i <= j) {
      while (a[i]! < pivot) i++;
      while (a[j]! > pivot) j--;
      if (i <= j) {
        const swap = a[i]!;
        a[i] = a[j]!;
        a[j] = swap;
        i++;
        j--;
      }
    }
    if (k <= j) right = j;
    else if (k >= i) left = i;
    else return a[k]!;
  }
  return a[k]!;
}

/**
 * Robust z-score: median and MAD fitted on the training window, k-of-m alarm rule.
 * A training series with no spread (MAD 0, e.g. `has_leader` stuck at 1) gets a floor on the
 * scale of 1% of the median (or 1e-6), so any real departure from a constant counts.
 */
export class RobustZDetector implements Detector {
  readonly name: string;
  readonly rule: AlarmRule;
  readonly #spec: RobustZSpec;
  #center = Number.NaN;
  #scale = Number.NaN;

  constructor(spec: RobustZSpec = { kind: 'robust-z', name: 'robust-z', rule: DEFAULT_RULE, direction: 'both', threshold: 4 }) {
    this.name = spec.name;
    this.rule = spec.rule;
    this.#spec = spec;
  }

  get fitted(): { center: number; scale: number } {
    return { center: this.#center, scale: this.#scale };
  }

  fit(train: Series): void {
    this.#center = median(train.v);
    if (deviationScratch.length < train.v.length) deviationScratch = new Float64Array(Math.max(train.v.length, deviationScratch.length * 2));
    const deviations = deviationScratch;
    let count = 0;
    let sumAbs = 0;
    for (let i = 0; i < train.v.length; i++) {
      const v = train.v[i]!;
      if (!Number.isFinite(v)) continue;
      const d = Math.abs(v - this.#center);
      deviations[count++] = d;
      sumAbs += d;
    }
    const mad = median(deviations.subarray(0, count));
    const meanAbs = count === 0 ? 0 : sumAbs / count;
    this.#scale = Math.max(1.4826 * mad, 1.2533 * meanAbs, Math.abs(this.#center) * 0.01, 1e-6);
  }

  /** Score: |z| over the threshold (in the configured direction), squashed. */
  judge(test: Series): Judgement {
    const n = test.v.length;
    const judgement: Judgement = { anomalous: new Uint8Array(n), score: new Float64Array(n) };
    if (!Number.isFinite(this.#center)) return judgement;
    const { threshold, direction } = this.#spec;
    for (let i = 0; i < n; i++) {
      const v = test.v[i]!;
      if (!Number.isFinite(v)) continue;
      const z = (v - this.#center) / this.#scale;
      const departure = direction === 'up' ? z : direction === 'down' ? -z : Math.abs(z);
      judgement.score[i] = squash(departure / threshold);
      judgement.anomalous[i] = departure > threshold ? 1 : 0;
    }
    return judgement;
  }
}
