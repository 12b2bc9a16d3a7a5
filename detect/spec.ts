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
  | (Common & { kind: 'prophet'; level: number; /** draws for the forecast interval (Python prophet: 1000) */ samples: number })
  | (Common & { kind: 'static'; thresholds: { series: string; operator: '<' | '<=' | '>' | '>='; value: number }[] })
  | (Omit<Common, 'rule'> & {
      kind: 'adaptive';
      preset: AdaptivePreset;
      /** unset: the preset's own rule (qps: 3 consecutive; latency: any breach; error-rate uses `forMs`) */
      rule?: AlarmRule;
      /** series patterns the preset applies to; unset: the preset's defaults */
      series?: string[];
      sigma?: number;
      slope?: number;
      historyMs?: number;
      windowMs?: number;
      quantile?: number;
      margin?: number;
      forMs?: number;
      aggregateMs?: number;
      minWindowMs?: number;
      maxWindowMs?: number;
      p50Rise?: number;
    });

export type AdaptivePreset = 'qps' | 'error-rate' | 'latency';

/** Which settings each adaptive preset reads (any other is an error in a scenario). */
export const ADAPTIVE_SETTINGS: Record<AdaptivePreset, readonly string[]> = {
  qps: ['sigma', 'slope', 'history', 'rule'],
  'error-rate': ['window', 'quantile', 'margin', 'for', 'aggregate'],
  latency: ['sigma', 'minWindow', 'maxWindow', 'p50Rise', 'rule'],
};

export type DetectorKind = DetectorSpec['kind'];

export const DETECTOR_KINDS: readonly DetectorKind[] = ['robust-z', 'mstl', 'prophet', 'static', 'adaptive'];

/**
 * Prophet simulates its forecast interval from random draws; 1000 (Python's default) costs about
 * 0.5 ms per judged point, 250 about a quarter of that for interval widths within a few percent.
 */
export const PROPHET_DEFAULT_SAMPLES = 250;

/** The spec a bare kind name stands for. */
export function defaultSpec(kind: 'robust-z' | 'mstl' | 'prophet', name: string = kind): DetectorSpec {
  const common = { name, rule: { kind: 'k-of-m', k: 3, m: 5 } as AlarmRule, direction: 'both' as Direction };
  switch (kind) {
    case 'robust-z': return { ...common, kind, threshold: 4 };
    case 'mstl': return { ...common, kind, level: 0.99, periodsMs: [] };
    case 'prophet': return { ...common, kind, level: 0.99, samples: PROPHET_DEFAULT_SAMPLES };
  }
}
