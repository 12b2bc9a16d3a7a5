import type { GateRepeat, Journal } from '../core/journal.ts';
import type { Scenario } from '../core/scenario.ts';
import { wilsonInterval } from '../core/thresholds.ts';

/**
 * A scenario's gates over repeated runs (`moat gate --repeat N`): for every gate threshold, how
 * many runs it passed, the pass rate's 95% Wilson interval, and the verdict. A gate with
 * `pass_rate >= X` passes when the interval's lower bound reaches X; one without must pass in every
 * run. A run that did not complete passes none of its gates.
 */
export function summarizeRepeats(scenario: Scenario, journals: readonly Journal[]): GateRepeat[] {
  const out: GateRepeat[] = [];
  for (const gate of scenario.gates) {
    for (const threshold of gate.thresholds) {
      const results = journals.map((j) => (j.status === 'completed' ? j.gates.find((g) => g.metric === gate.selector.source && g.threshold === threshold.source) : undefined));
      const passes = results.filter((r) => r?.ok === true).length;
      const runs = journals.length;
      const interval = wilsonInterval(passes, runs);
      const required = gate.passRate;
      const ok = required === undefined ? passes === runs : interval.low >= required;
      out.push({
        scenario: scenario.name, metric: gate.selector.source, threshold: threshold.source, runs, passes, passRate: runs ? passes / runs : 0,
        wilsonLow: interval.low, wilsonHigh: interval.high, ...(required === undefined ? {} : { requiredPassRate: required }), ok,
        seeds: journals.map((j) => j.seed), actuals: results.map((r) => r?.actual ?? null),
      });
    }
  }
  return out;
}
