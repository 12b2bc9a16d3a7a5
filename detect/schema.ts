import * as z from 'zod';
import type { AlarmRule, Direction, OnlineSettings, ScenarioCheck } from '../core/scenario.ts';
import { ONLINE_DEFAULTS } from './online.ts';

const alarmRule = z.union([
  z.literal('breach'),
  z.strictObject({ k: z.int().min(1), m: z.int().min(1) }),
  z.strictObject({ consecutive: z.int().min(1) }),
  z.strictObject({ for: z.string() }),
]);

/** The keys every detector has: a name (default: the kind), the alarm rule, the direction, and how it keeps its baseline. */
export const detectorCommon = {
  name: z.string().regex(/^[a-z0-9][a-z0-9-]{0,39}$/, { error: 'expected lower-case letters, digits and dashes (at most 40)' }).optional(),
  /** how anomalous points become alarms; default 3 of 5 */
  rule: alarmRule.optional(),
  direction: z.enum(['both', 'up', 'down']).default('both'),
  /** fitted (default): the warm-up trains, later points are judged; online: refitted on a trailing window as points arrive */
  mode: z.enum(['fitted', 'online']).optional(),
  online: z.strictObject({
    window: z.string().optional(),
    maxPoints: z.int().min(5).max(100_000).optional(),
    refitEvery: z.int().min(1).max(1_000_000).optional(),
    adaptAfter: z.string().optional(),
    minPoints: z.int().min(2).max(100_000).optional(),
    forget: z.boolean().optional(),
  }).optional(),
};

type OnlineDocument = { mode?: 'fitted' | 'online' | undefined; online?: { window?: string | undefined; maxPoints?: number | undefined; refitEvery?: number | undefined; adaptAfter?: string | undefined; minPoints?: number | undefined; forget?: boolean | undefined } | undefined };

/** `mode: online` with its settings (each kind's own `refitEvery` by default), or nothing for a fitted detector. */
export function onlineOf(document: OnlineDocument, refitEvery: number, path: readonly (string | number)[], check: ScenarioCheck, forget = true): { online?: OnlineSettings } {
  if (document.mode !== 'online') {
    if (document.online !== undefined) check.report([...path, 'online'], 'online settings need `mode: online`');
    return {};
  }
  const settings = document.online ?? {};
  const online: OnlineSettings = {
    windowMs: settings.window === undefined ? ONLINE_DEFAULTS.windowMs : check.duration(settings.window, [...path, 'online', 'window']),
    maxPoints: settings.maxPoints ?? ONLINE_DEFAULTS.maxPoints,
    refitEvery: settings.refitEvery ?? refitEvery,
    adaptAfterMs: settings.adaptAfter === undefined ? ONLINE_DEFAULTS.adaptAfterMs : check.duration(settings.adaptAfter, [...path, 'online', 'adaptAfter']),
    minPoints: settings.minPoints ?? ONLINE_DEFAULTS.minPoints,
    forget: settings.forget ?? forget,
  };
  if (online.minPoints > online.maxPoints) check.report([...path, 'online', 'minPoints'], `minPoints (${online.minPoints}) must not exceed maxPoints (${online.maxPoints})`);
  return { online };
}

/** The alarm rule as written (`breach`, `{k, m}`, `{consecutive}`), or undefined. */
export function ruleOf(document: z.output<typeof alarmRule> | undefined, path: readonly (string | number)[], check: ScenarioCheck): AlarmRule | undefined {
  if (document === undefined) return undefined;
  const rule: AlarmRule = document === 'breach' ? { kind: 'breach' }
    : 'consecutive' in document ? { kind: 'consecutive', n: document.consecutive }
    : 'for' in document ? { kind: 'for', ms: check.duration(document.for, [...path, 'rule', 'for']) }
    : { kind: 'k-of-m', k: document.k, m: document.m };
  if (rule.kind === 'k-of-m' && rule.k > rule.m) check.report([...path, 'rule'], `k must not exceed m, saw k ${rule.k} of m ${rule.m}`);
  return rule;
}

/** The default rule: 3 of the last 5 points anomalous. */
export const DEFAULT_RULE: AlarmRule = { kind: 'k-of-m', k: 3, m: 5 };

/**
 * Name, rule (the default when none is given), direction and online settings from the common
 * keys; `refitEvery` is the kind's default refit interval online, in points.
 */
export function commonOf(document: { name?: string | undefined; rule?: z.output<typeof alarmRule> | undefined; direction: Direction } & OnlineDocument, kind: string, path: readonly (string | number)[], check: ScenarioCheck, refitEvery = 1, forget = true): { name: string; rule: AlarmRule; direction: Direction; online?: OnlineSettings } {
  return { name: document.name ?? kind, rule: ruleOf(document.rule, path, check) ?? DEFAULT_RULE, direction: document.direction, ...onlineOf(document, refitEvery, path, check, forget) };
}

/** The level of a forecast interval, in (0, 1). */
export const level = z.number().gt(0).lt(1).default(0.99);
