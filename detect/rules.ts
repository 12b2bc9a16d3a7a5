import type { AlarmRule } from '../core/scenario.ts';
import { kOfM } from './alarm-rule.ts';

export type { AlarmRule };

/** Applies a rule to per-point flags: an alarm fires when the rule becomes true, and not again until it has been false. */
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
