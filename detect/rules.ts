import { kOfM } from './alarm-rule.ts';

/**
 * How per-point anomaly flags become alarms:
 * - `k-of-m`: k of the last m points are anomalous (default 3 of 5);
 * - `consecutive`: n anomalous points in a row;
 * - `breach`: every anomalous point after a normal one (an interval breach).
 * An alarm fires when the rule becomes true, and not again until it has been false.
 */
export type AlarmRule = { kind: 'k-of-m'; k: number; m: number } | { kind: 'consecutive'; n: number } | { kind: 'breach' };

export const DEFAULT_RULE: AlarmRule = { kind: 'k-of-m', k: 3, m: 5 };

export function applyRule(flags: readonly boolean[], rule: AlarmRule): number[] {
  switch (rule.kind) {
    case 'k-of-m': return kOfM(flags, rule.k, rule.m);
    case 'consecutive': return kOfM(flags, rule.n, rule.n);
    case 'breach': return kOfM(flags, 1, 1);
  }
}

export function describeRule(rule: AlarmRule): string {
  switch (rule.kind) {
    case 'k-of-m': return `${rule.k} of ${rule.m} points`;
    case 'consecutive': return `${rule.n} consecutive points`;
    case 'breach': return 'any breach';
  }
}
