import type { GateRepeat, Journal } from '../core/journal.ts';
import { escapeXml as x } from './escape.ts';

interface Case {
  classname: string;
  name: string;
  timeSec: number;
  failure?: { message: string; body: string };
  error?: { message: string; body: string };
  /** shown, not failed: what only a gate may turn into a failure (an alert rule that never fired) */
  skipped?: { message: string; body: string };
}

/**
 * JUnit XML, one test suite per run: a case for the run itself, one per fault (applied, verified,
 * healed), one per gate threshold, and one for cleanup. A run that crashed or was interrupted
 * fails its run case, and a fault that was never healed fails its fault case: never green.
 */
export function renderJunit(journals: readonly Journal[]): string {
  const suites = journals.map(suite);
  const totals = suites.reduce((acc, s) => ({ tests: acc.tests + s.cases.length, failures: acc.failures + s.failures, errors: acc.errors + s.errors, time: acc.time + s.timeSec }), { tests: 0, failures: 0, errors: 0, time: 0 });
  return `<?xml version="1.0" encoding="UTF-8"?>
<testsuites name="moat" tests="${totals.tests}" failures="${totals.failures}" errors="${totals.errors}" time="${totals.time.toFixed(3)}">
${suites.map((s) => s.xml).join('\n')}
</testsuites>
`;
}

function suite(journal: Journal): { xml: string; cases: Case[]; failures: number; errors: number; timeSec: number } {
  const prefix = `moat.${journal.scenarioName}`;
  const cases: Case[] = [];
  const runOk = journal.status === 'completed';
  cases.push({
    classname: `${prefix}.run`, name: 'run completed', timeSec: journal.durationMs / 1000,
    ...(runOk ? {} : { error: { message: `run ${journal.status}${journal.error ? `: ${journal.error}` : ''}`, body: journal.activities.filter((a) => a.status === 'failed').map((a) => `${a.name}: ${a.error ?? ''}`).join('\n') } }),
  });
  for (const fault of journal.faults) {
    const problems: string[] = [];
    if (fault.appliedAt === null) problems.push(`never applied${fault.error ? `: ${fault.error}` : ''}`);
    else {
      if (!fault.verified.ok) problems.push('not verified to take effect');
      if (fault.healedAt === null) problems.push('not healed');
    }
    const window = fault.appliedAt !== null && fault.healedAt !== null ? (fault.healedAt - fault.appliedAt) / 1000 : 0;
    cases.push({
      classname: `${prefix}.faults`, name: `${fault.id} applied, verified and healed`, timeSec: window,
      ...(problems.length ? { failure: { message: `${fault.id}: ${problems.join('; ')}`, body: fault.verified.evidence.map((ev) => `${ev.ok ? 'ok' : 'FAILED'} [${ev.kind}] ${ev.detail}`).join('\n') } } : {}),
    });
  }
  // each team alert rule on each fault it covers; one that never fired is skipped (its gates, if any, fail)
  for (const d of journal.alerts?.detections.filter((x) => x.covers) ?? []) {
    cases.push({
      classname: `${prefix}.alerts`, name: `${d.alert} fires for ${d.faultId}`, timeSec: (d.ttdMs ?? 0) / 1000,
      ...(d.ttdMs === null ? { skipped: { message: `${d.alert} never fired for ${d.faultId}`, body: `pending: ${d.pendingMs === null ? 'never' : `${d.pendingMs} ms`}` } } : {}),
    });
  }
  for (const gate of journal.gates) {
    cases.push({
      classname: `${prefix}.gates`, name: `${gate.metric} ${gate.threshold}`, timeSec: 0,
      ...(gate.ok ? {} : { failure: { message: gate.detail, body: gate.detail } }),
    });
  }
  cases.push({
    classname: `${prefix}.cleanup`, name: 'everything the run created was removed', timeSec: 0,
    ...(journal.cleanup.ok ? {} : { failure: { message: 'cleanup left resources behind', body: journal.cleanup.leftovers.join('\n') } }),
  });
  const failures = cases.filter((c) => c.failure).length;
  const errors = cases.filter((c) => c.error).length;
  const timeSec = journal.durationMs / 1000;
  const body = cases.map((c) => {
    const open = `    <testcase classname="${x(c.classname)}" name="${x(c.name)}" time="${c.timeSec.toFixed(3)}"`;
    if (c.failure) return `${open}>\n      <failure message="${x(c.failure.message)}" type="moat.gate">${x(c.failure.body)}</failure>\n    </testcase>`;
    if (c.error) return `${open}>\n      <error message="${x(c.error.message)}" type="moat.run">${x(c.error.body)}</error>\n    </testcase>`;
    if (c.skipped) return `${open}>\n      <skipped message="${x(c.skipped.message)}">${x(c.skipped.body)}</skipped>\n    </testcase>`;
    return `${open}/>`;
  }).join('\n');
  const properties = [['runId', journal.runId], ['seed', String(journal.seed)], ['status', journal.status], ['verdict', journal.verdict.passed ? 'passed' : 'failed'], ['runDir', journal.runDir]]
    .map(([k, v]) => `      <property name="${x(k)}" value="${x(v)}"/>`).join('\n');
  const xml = `  <testsuite name="${x(prefix)}" tests="${cases.length}" failures="${failures}" errors="${errors}" skipped="${cases.filter((c) => c.skipped).length}" time="${timeSec.toFixed(3)}" timestamp="${x(journal.startedAt.replace(/\.\d+Z$/, ''))}">
    <properties>
${properties}
    </properties>
${body}
    <system-out>${x(journal.verdict.reasons.join('\n'))}</system-out>
  </testsuite>`;
  return { xml, cases, failures, errors, timeSec };
}

/**
 * JUnit for `moat gate --repeat N`: one test case per scenario gate threshold, named with its pass
 * rate and Wilson interval, failed when the rate does not meet the gate's requirement; the seeds
 * and each run's value are in the case's output.
 */
export function renderRepeatJunit(repeats: readonly GateRepeat[]): string {
  const byScenario = new Map<string, GateRepeat[]>();
  for (const r of repeats) byScenario.set(r.scenario, [...(byScenario.get(r.scenario) ?? []), r]);
  const pct = (v: number) => `${(100 * v).toFixed(1)}%`;
  const suites = [...byScenario].map(([scenario, gates]) => {
    const failures = gates.filter((g) => !g.ok).length;
    const body = gates.map((g) => {
      const name = `${g.metric} ${g.threshold}: passed ${g.passes}/${g.runs} (${pct(g.passRate)}, 95% interval ${pct(g.wilsonLow)}-${pct(g.wilsonHigh)})`;
      const requirement = g.requiredPassRate === undefined ? 'every run must pass' : `pass_rate >= ${g.requiredPassRate} on the interval's lower bound`;
      const out = `seeds: ${g.seeds.join(', ')}\nvalues: ${g.actuals.map((a) => (a === null ? '-' : String(a))).join(', ')}\nrequirement: ${requirement}`;
      const open = `    <testcase classname="${x(`moat.${scenario}.gates`)}" name="${x(name)}" time="0.000">`;
      return g.ok ? `${open}\n      <system-out>${x(out)}</system-out>\n    </testcase>` : `${open}\n      <failure message="${x(`${g.metric} ${g.threshold}: ${requirement}, passed ${g.passes}/${g.runs}`)}" type="moat.gate">${x(out)}</failure>\n    </testcase>`;
    }).join('\n');
    return { xml: `  <testsuite name="${x(`moat.${scenario}`)}" tests="${gates.length}" failures="${failures}" errors="0" skipped="0" time="0.000">\n${body}\n  </testsuite>`, tests: gates.length, failures };
  });
  const tests = suites.reduce((n, s) => n + s.tests, 0);
  const failures = suites.reduce((n, s) => n + s.failures, 0);
  return `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites name="moat" tests="${tests}" failures="${failures}" errors="0" time="0.000">\n${suites.map((s) => s.xml).join('\n')}\n</testsuites>\n`;
}
