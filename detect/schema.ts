import * as z from 'zod';
import type { AlarmRule, Direction, ScenarioCheck } from '../core/scenario.ts';

const alarmRule = z.union([
  z.literal('breach'),
  z.strictObject({ k: z.int().min(1), m: z.int().min(1) }),
  z.strictObject({ consecutive: z.int().min(1) }),
]);

/** The keys every detector has: a name (default: the kind), the alarm rule, the direction. */
export const detectorCommon = {
  name: z.string().regex(/^[a-z0-9][a-z0-9-]{0,39}$/, { error: 'expected lower-case letters, digits and dashes (at most 40)' }).optional(),
  /** how anomalous points become alarms; default 3 of 5 */
  rule: alarmRule.optional(),
  direction: z.enum(['both', 'up', 'down']).default('both'),
};

/** The alarm rule as written (`breach`, `{k, m}`, `{consecutive}`), or undefined. */
export function ruleOf(document: z.output<typeof alarmRule> | undefined, path: readonly (string | number)[], check: ScenarioCheck): AlarmRule | undefined {
  if (document === undefined) return undefined;
  const rule: AlarmRule = document === 'breach' ? { kind: 'breach' } : 'consecutive' in document ? { kind: 'consecutive', n: document.consecutive } : { kind: 'k-of-m', k: document.k, m: document.m };
  if (rule.kind === 'k-of-m' && rule.k > rule.m) check.report([...path, 'rule'], `k must not exceed m, saw k ${rule.k} of m ${rule.m}`);
  return rule;
}

/** The default rule: 3 of the last 5 points anomalous. */
export const DEFAULT_RULE: AlarmRule = { kind: 'k-of-m', k: 3, m: 5 };

/** Name, rule (the default when none is given) and direction from the common keys. */
export function commonOf(document: { name?: string | undefined; rule?: z.output<typeof alarmRule> | undefined; direction: Direction }, kind: string, path: readonly (string | number)[], check: ScenarioCheck): { name: string; rule: AlarmRule; direction: Direction } {
  return { name: document.name ?? kind, rule: ruleOf(document.rule, path, check) ?? DEFAULT_RULE, direction: document.direction };
}

/** The level of a forecast interval, in (0, 1). */
export const level = z.number().gt(0).lt(1).default(0.99);
