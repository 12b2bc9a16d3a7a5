import type { Alarm, Detector, Judgement } from '../core/detection.ts';
import type { AlarmRule } from '../core/scenario.ts';
import { seriesLabel, type Series } from '../core/series.ts';
import { kOfM } from './alarm-rule.ts';
import { formatMs } from '../core/units.ts';

export type { AlarmRule };

/**
 * Applies a rule to per-point flags (at times `t`): an alarm fires when the rule becomes true, and
 * not again until it has been false.
 */
export function applyRule(flags: ArrayLike<boolean | number>, rule: AlarmRule, t?: ArrayLike<number>): number[] {
  if (rule.kind !== 'for') {
    const { k, m } = ruleWindow(rule);
    return kOfM(flags, k, m);
  }
  const streaming = new StreamingRule(rule);
  const fired: number[] = [];
  for (let i = 0; i < flags.length; i++) if (streaming.push(Boolean(flags[i]), t?.[i] ?? i).fired) fired.push(i);
  return fired;
}

/** The k and m of a count rule: `consecutive: n` is n of n, `breach` 1 of 1. */
function ruleWindow(rule: Exclude<AlarmRule, { kind: 'for' }>): { k: number; m: number } {
  switch (rule.kind) {
    case 'k-of-m': return { k: rule.k, m: rule.m };
    case 'consecutive': return { k: rule.n, m: rule.n };
    case 'breach': return { k: 1, m: 1 };
  }
}

/**
 * A rule fed one point at a time, for detectors that judge as points arrive: `push` says whether
 * the rule holds after this point and whether an alarm fires on it (the rule just became true).
 * O(1) per point.
 */
export class StreamingRule {
  readonly #k: number;
  readonly #m: number;
  readonly #forMs: number | undefined;
  readonly #ring: Uint8Array;
  #at = 0;
  #count = 0;
  #met = false;
  /** `for` rules: when the current unbroken run of anomalous points began */
  #since: number | undefined;

  constructor(rule: AlarmRule) {
    if (rule.kind === 'for') {
      this.#forMs = rule.ms;
      this.#k = 1;
      this.#m = 1;
    } else {
      ({ k: this.#k, m: this.#m } = ruleWindow(rule));
    }
    this.#ring = new Uint8Array(this.#m);
  }

  /** One more point (at time `t`, which `for` rules need). */
  push(anomalous: boolean, t: number): { met: boolean; fired: boolean } {
    let met: boolean;
    if (this.#forMs !== undefined) {
      if (anomalous) this.#since ??= t;
      else this.#since = undefined;
      met = this.#since !== undefined && t - this.#since > this.#forMs;
    } else {
      this.#count += (anomalous ? 1 : 0) - this.#ring[this.#at]!;
      this.#ring[this.#at] = anomalous ? 1 : 0;
      this.#at = (this.#at + 1) % this.#m;
      met = this.#count >= this.#k;
    }
    const fired = met && !this.#met;
    this.#met = met;
    return { met, fired };
  }

  /** Forgets every point so far (after the baseline adapted to a new level). */
  reset(): void {
    this.#ring.fill(0);
    this.#count = 0;
    this.#met = false;
    this.#since = undefined;
  }
}

/** The alarms a judgement raises under a rule, each with its point's score. */
export function alarmsFrom(detector: string, test: Series, judgement: Judgement, rule: AlarmRule): Alarm[] {
  const label = seriesLabel(test);
  return applyRule(judgement.anomalous, rule, test.t).map((i) => ({ detector, series: label, t: test.t[i]!, score: judgement.score[i]! }));
}

/** A fitted detector's alarms on `test`, under its own rule. */
export function alarmsOf(detector: Detector, test: Series): Alarm[] {
  return alarmsFrom(detector.name, test, detector.judge(test), detector.rule);
}

export function describeRule(rule: AlarmRule): string {
  switch (rule.kind) {
    case 'k-of-m': return `${rule.k} of ${rule.m} points`;
    case 'consecutive': return `${rule.n} consecutive points`;
    case 'breach': return 'any breach';
    case 'for': return `anomalous for more than ${formatMs(rule.ms)}`;
  }
}
