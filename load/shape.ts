import type { Series } from '../core/series.ts';

/**
 * A traffic shape replayed time-compressed: the rate at run time t follows the imported series at
 * `t x speedup` from its start (144: one day in ten minutes), scaled so that its mean is the
 * load's configured rate, interpolated linearly between points and looped past the end.
 */
export function shapeRate(shape: Series, ratePerSec: number, speedup: number): (tMs: number) => number {
  const t = shape.t;
  const v = Array.from(shape.v, (x) => (Number.isFinite(x) && x > 0 ? x : 0));
  if (t.length === 0) return () => ratePerSec;
  const span = t[t.length - 1]! - t[0]!;
  const mean = v.reduce((a, b) => a + b, 0) / v.length || 1;
  return (tMs: number) => {
    if (t.length === 1 || span <= 0) return ratePerSec;
    let at = (tMs * speedup) % span;
    if (at < 0) at += span;
    at += t[0]!;
    let hi = 1;
    while (hi < t.length - 1 && t[hi]! < at) hi++;
    const lo = hi - 1;
    const f = (at - t[lo]!) / (t[hi]! - t[lo]! || 1);
    return (ratePerSec * (v[lo]! + f * (v[hi]! - v[lo]!))) / mean;
  };
}
