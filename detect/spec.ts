import type { AlarmRule } from './rules.ts';

/** Which way a departure counts: above the baseline, below it, or both. */
export type Direction = 'both' | 'up' | 'down';

interface Common {
  /** unique name in the journal; defaults to the kind */
  name: string;
  rule: AlarmRule;
  direction: Direction;
}

/**
 * A detector as configured in a scenario (`baseline.detectors`) or on the command line.
 * Sensitivity is per kind: `threshold` in robust sigmas, `level` of the forecast interval,
 * explicit thresholds for `static`.
 */
export type DetectorSpec =
  | (Common & { kind: 'robust-z'; threshold: number })
  | (Common & { kind: 'mstl'; level: number; periodsMs: number[] })
  | (Common & { kind: 'prophet'; level: number })
  | (Common & { kind: 'static'; thresholds: { series: string; operator: '<' | '<=' | '>' | '>='; value: number }[] });

export type DetectorKind = DetectorSpec['kind'];

export const DETECTOR_KINDS: readonly DetectorKind[] = ['robust-z', 'mstl', 'prophet', 'static'];

/** The spec a bare kind name stands for. */
export function defaultSpec(kind: Exclude<DetectorKind, 'static'>, name: string = kind): DetectorSpec {
  const common = { name, rule: { kind: 'k-of-m', k: 3, m: 5 } as AlarmRule, direction: 'both' as Direction };
  switch (kind) {
    case 'robust-z': return { ...common, kind, threshold: 4 };
    case 'mstl': return { ...common, kind, level: 0.99, periodsMs: [] };
    case 'prophet': return { ...common, kind, level: 0.99 };
  }
}
