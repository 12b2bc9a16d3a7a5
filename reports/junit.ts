import type { Journal } from '../core/journal.ts';
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
