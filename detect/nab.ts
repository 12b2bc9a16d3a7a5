/**
 * The Numenta Anomaly Benchmark's scoring, written here from its published definition: every
 * point a detector flags after the probationary period (the first 15% of a file, at most 750
 * points) is a detection. The earliest detection inside a labelled window earns
 * A_TP · σ(position) / σ(-1), where position runs from -1 at the window's first point to 0 past
 * its last and σ(x) = 2 / (1 + e^{5x}) - 1; a window without one costs A_FN. A detection outside
 * every window costs A_FP · σ(distance past the previous window's end, in window widths), or the
 * full A_FP before the first window. Scores are normalised over a corpus so that a detector that
 * flags nothing scores 0 and one that flags the first point of every window scores 100.
 */

export interface NabProfile {
  tp: number;
  fp: number;
  fn: number;
}

/** NAB's three application profiles. */
export const NAB_APPLICATION_PROFILES = {
  standard: { tp: 1, fp: 0.11, fn: 1 },
  reward_low_fp: { tp: 1, fp: 0.22, fn: 1 },
  reward_low_fn: { tp: 1, fp: 0.11, fn: 2 },
} as const satisfies Record<string, NabProfile>;
export type NabProfileName = keyof typeof NAB_APPLICATION_PROFILES;

/** NAB's scaled sigmoid: 0.98661 at position -1, 0 at 0, -0.98661 at 1, -1 from 3 on. */
export function scaledSigmoid(position: number): number {
  if (position >= 3) return -1;
  return 2 / (1 + Math.exp(5 * position)) - 1;
}

/** Points of a file's probationary period: 15% of its points, at most 750. */
export function probationaryLength(points: number): number {
  return Math.min(Math.floor(0.15 * points), 0.15 * 5000);
}

/** A labelled window as point indices, both ends included. */
export interface IndexWindow {
  from: number;
  to: number;
}

export interface NabFileScore {
  /** the raw score under the profile */
  raw: number;
  /** windows after the probationary period (the ones scored) */
  windows: number;
  /** of those, the ones with a detection */
  detected: number;
  /** detections outside every window */
  falsePositives: number;
  /** per scored window: the index of its first detection, or null */
  firstDetections: (number | null)[];
}

/**
 * Scores one file's detections (indices of flagged points) against its windows under a profile.
 * Windows that start inside the probationary period are not scored (as in NAB, where their
 * points carry the probationary label).
 */
export function scoreNabFile(points: number, windows: readonly IndexWindow[], detections: readonly number[], profile: NabProfile): NabFileScore {
  const probation = probationaryLength(points);
  const sorted = [...windows].sort((a, b) => a.from - b.from);
  const scored = sorted.filter((w) => w.from >= probation);
  const best = scored.map(() => -profile.fn);
  const first: (number | null)[] = scored.map(() => null);
  const maxTp = scaledSigmoid(-1);
  let fpScore = 0;
  let falsePositives = 0;
  for (const i of [...new Set(detections)].sort((a, b) => a - b)) {
    if (i < probation || i >= points) continue;
    const w = scored.findIndex((win) => i >= win.from && i <= win.to);
    if (w >= 0) {
      const window = scored[w]!;
      const width = window.to - window.from + 1;
      const value = (scaledSigmoid(-(window.to - i + 1) / width) * profile.tp) / maxTp;
      if (value > best[w]!) best[w] = value;
      first[w] ??= i;
      continue;
    }
    if (sorted.some((win) => i >= win.from && i <= win.to)) continue; // a window inside probation
    falsePositives++;
    const previous = [...sorted].reverse().find((win) => win.to < i);
    const position = previous === undefined ? 3 : Math.abs(previous.to - i) / Math.max(1, previous.to - previous.from);
    fpScore += scaledSigmoid(position) * profile.fp;
  }
  return { raw: best.reduce((a, b) => a + b, 0) + fpScore, windows: scored.length, detected: first.filter((f) => f !== null).length, falsePositives, firstDetections: first };
}

/** A corpus score normalised to 0 (flags nothing) .. 100 (flags the first point of every window). */
export function normalizeNab(raw: number, windows: number, profile: NabProfile): number {
  const none = -profile.fn * windows;
  const perfect = profile.tp * windows;
  return perfect === none ? 0 : (100 * (raw - none)) / (perfect - none);
}
