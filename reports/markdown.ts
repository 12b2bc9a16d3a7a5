import type { Journal, LoadSummary } from '../core/journal.ts';
import { signedMs } from '../core/units.ts';

/**
 * Escapes text (from a scenario, logs, labels, errors) for Markdown, in a table cell or a line:
 * pipes and newlines would break the table; `<` before a letter could open an HTML tag (or an
 * autolink) where the Markdown is rendered; `[`, `]` and `!` could make a link or an image that
 * loads from anywhere; a backtick could end a code span. Other `<` and `>` stay, so `p(99) < 800`
 * still reads well in a terminal.
 */
export function cell(text: string | number | null | undefined): string {
  if (text === null || text === undefined) return '-';
  return String(text)
    .replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/\r?\n|\r/g, ' ').replace(/&/g, '&amp;').replace(/<(?=[A-Za-z\/!?])/g, '&lt;')
    .replace(/([[\]`])/g, '\\$1');
}

function ms(value: number | null | undefined): string {
  if (value === null || value === undefined) return '-';
  if (!Number.isFinite(value)) return String(value);
  if (Math.abs(value) < 10_000) return `${Math.round(value)} ms`;
  return `${(value / 1000).toFixed(1)} s`;
}

function at(t: number | null | undefined): string {
  return t === null || t === undefined ? '-' : `${(t / 1000).toFixed(2)} s`;
}

function table(header: string[], rows: (string | number | null | undefined)[][]): string {
  return [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.map(cell).join(' | ')} |`)].join('\n');
}

const TIMELINE_ALARMS_SHOWN = 25;

/** The run summary for a terminal, a pull-request comment or a chat: a pure function of the journal. */
export function renderMarkdown(journal: Journal): string {
  const verdict = journal.verdict.passed ? 'PASSED' : 'FAILED';
  const out: string[] = [];
  out.push(`# moat run: ${cell(journal.scenarioName)} - ${verdict}`);
  out.push('');
  out.push(`run ${cell(journal.runId)} · seed ${journal.seed} · status **${journal.status}** · ${ms(journal.durationMs)} · ${cell(journal.runDir)}`);
  if (journal.description) out.push('', `> ${cell(journal.description)}`);
  out.push('', '## Plan', '', ...journal.plan.map((line) => `- ${cell(line)}`));
  out.push('', journal.bpf.enabled ? `eBPF probes: ${cell(journal.bpf.probes.join(', '))} (${journal.bpf.attachedProbes} tracepoints attached)` : `eBPF probes: off${journal.bpf.reason ? ` (${cell(journal.bpf.reason)})` : ''}`);

  out.push('', '## Timeline', '');
  const alarms = journal.timeline.filter((e) => e.kind === 'alarm');
  const shown = journal.timeline.filter((e) => e.kind !== 'alarm' || alarms.indexOf(e) < TIMELINE_ALARMS_SHOWN);
  out.push(table(['t', 'event', 'detail'], shown.map((e) => [at(e.t), e.kind, e.detail])));
  if (alarms.length > TIMELINE_ALARMS_SHOWN) out.push('', `(${alarms.length - TIMELINE_ALARMS_SHOWN} more alarms in journal.json)`);

  out.push('', '## Faults', '');
  out.push(table(['fault', 'target', 'scheduled', 'applied', 'healed', 'verified', 'new leader', 'recovery'], journal.faults.map((f) => [
    f.id, f.target, at(f.scheduledAt), f.appliedAt === null ? `never${f.error ? `: ${f.error}` : ''}` : `${at(f.appliedAt)} (${signedMs(f.appliedAt - f.scheduledAt)})`,
    at(f.healedAt), f.verified.evidence.length === 0 ? 'no evidence' : `${f.verified.ok ? 'yes' : 'NO'} (${f.verified.evidence.filter((e) => e.ok).length}/${f.verified.evidence.length})`,
    f.leaderChange ? `${f.leaderChange.to} after ${ms(f.leaderChange.afterMs)}` : '-', f.recoveryMs === null ? 'not recovered' : ms(f.recoveryMs),
  ])));
  for (const f of journal.faults) {
    if (f.verified.evidence.length === 0) continue;
    out.push('', `Evidence for ${cell(f.id)}:`, ...f.verified.evidence.map((e) => `- ${e.ok ? 'ok' : 'FAILED'} [${e.kind}] ${cell(e.detail)}`));
  }

  out.push('', '## Detection', '', `Time to detect (TTD) per fault x detector: the first alarm on any watched series within [applied, healed + ${ms(journal.graceMs)}].`, '');
  out.push(table(['fault', ...journal.detectors], journal.faults.filter((f) => f.appliedAt !== null).map((f) => [f.id, ...journal.detectors.map((name) => {
    const d = journal.detections.find((x) => x.faultId === f.id && x.detector === name);
    return !d || d.ttdMs === null ? 'MISS' : ms(d.ttdMs);
  })])), '', 'Per watched series:', '');
  const detected = journal.seriesDetections.filter((d) => d.ttdMs !== null);
  const missedSeries = journal.seriesDetections.length - detected.length;
  out.push(table(['fault', 'detector', 'series', 'TTD'], [
    ...journal.detections.map((d) => [d.faultId, d.detector, `first of any: ${d.series ?? 'none'}`, d.ttdMs === null ? 'MISS' : ms(d.ttdMs)]),
    ...detected.sort((a, b) => a.ttdMs! - b.ttdMs!).map((d) => [d.faultId, d.detector, d.series ?? '-', ms(d.ttdMs)]),
  ]));
  if (missedSeries > 0) out.push('', `${missedSeries} watched series did not alarm during a fault (misses; see journal.json seriesDetections).`);
  out.push('', table(['detector', 'detected', 'median TTD', 'false alarms', 'false alarms / h', 'NAB standard (0-100)', 'NAB low-FP', 'NAB low-FN'], journal.detectorScores.map((d) => [
    d.detector, `${d.detected}/${d.faults}`, ms(d.medianTtdMs), d.falseAlarms, d.falseAlarmsPerHour.toFixed(1), d.nabNormalized.standard.toFixed(1), d.nabNormalized.reward_low_fp.toFixed(1), d.nabNormalized.reward_low_fn.toFixed(1),
  ])));
  if (journal.baselineSources.length > 0) {
    out.push('', 'Trained on more than the warm-up:', ...journal.baselineSources.map((source) => `- ${cell(source)}`));
  }
  if (journal.detectorErrors.length > 0) {
    out.push('', `Detector errors (${journal.detectorErrors.length}):`, ...journal.detectorErrors.slice(0, 10).map((e) => `- ${cell(e.detector)} on ${cell(e.series)}: ${cell(e.error)}`));
  }

  if (journal.alerts) {
    const alerts = journal.alerts;
    out.push('', '## Team alert rules', '', `Evaluated by a real Prometheus ${cell(alerts.prometheus.version)}${alerts.alertmanager ? ', paging moat through Alertmanager' : ''}${alerts.prometheus.error ? ` (${cell(alerts.prometheus.error)})` : ''}.`, '');
    out.push(table(['fault', 'rule', 'covers', 'pending', 'firing (TTD)', 'paged', "x moat's best"], alerts.detections.map((d) => [
      d.faultId, d.alert, d.covers ? 'yes' : 'no', ms(d.pendingMs), d.ttdMs === null ? 'never' : ms(d.ttdMs), ms(d.notifiedMs), d.ratioToBest === null ? '-' : `${d.ratioToBest.toFixed(1)}x`,
    ])));
    out.push('', `Blind rules: ${alerts.blind.length ? alerts.blind.map(cell).join(', ') : 'none'}. Unpaged faults: ${alerts.unpaged.length ? alerts.unpaged.map(cell).join(', ') : 'none'}.`);
  }

  if (journal.diagnosis && journal.diagnosis.faults.length > 0) {
    out.push('', '## Diagnosis', '', 'Where each fault was, as moat\'s localizer ranked the twin\'s components at the heal, against where it really was.', '');
    out.push(table(['fault', 'where it was', 'top hypotheses', 'top-1', 'top-3', 'cause', 'time to localize'], journal.diagnosis.faults.map((f) => [
      f.faultId, `${f.truth.join(', ')} (${f.truthCause})`, f.hypotheses.map((h) => `${h.component.id} (${h.cause}, ${Math.round(h.confidence * 100)}%)`).join('; ') || 'none',
      f.top1 ? 'yes' : 'NO', f.top3 ? 'yes' : 'NO', f.causeCorrect ? 'right' : 'wrong', f.ttlMs === null ? 'never' : ms(f.ttlMs),
    ])));
    for (const f of journal.diagnosis.faults) {
      const top = f.hypotheses[0];
      if (top) out.push('', `Evidence for ${cell(top.component.id)} (${cell(f.faultId)}):`, ...top.evidence.slice(0, 5).map((x) => `- ${cell(x)}`));
    }
  }

  out.push('', '## Load', '');
  out.push(table(['load', 'op', 'requests', 'errors', 'availability', 'p50', 'p99', 'max'], journal.load.flatMap((l) => Object.entries(l.byOp).map(([op, o]) => [
    l.name, op, o.requests, o.errors, o.requests ? `${((1 - o.errors / o.requests) * 100).toFixed(2)}%` : '-', ms(o.p50Ms), ms(o.p99Ms), ms(o.maxMs),
  ]))));
  for (const l of journal.load) {
    const m = l.messages;
    const messages = m ? `, **${m.duplicated} duplicated**, **${m.reordered} reordered**; consumer group received ${m.consumed} (${m.redelivered} redelivered, ${m.ackedNotConsumed} acknowledged but never received)` : '';
    out.push('', `${cell(l.name)}: ${l.ackedWrites} acknowledged writes, **${l.lostWrites} lost**${messages}${l.indeterminateApplied ? `, ${l.indeterminateApplied} unacknowledged writes found applied` : ''}${m ? '' : `; schedule lag p99 ${ms(l.scheduleLagP99Ms)}`}${l.readBackError ? `; read-back failed: ${cell(l.readBackError)}` : ''}`);
    const generator = describeGenerator(l);
    if (generator) out.push('', `${cell(l.name)}: ${generator}`);
  }

  if (journal.gates.length > 0) {
    out.push('', '## Gates', '');
    out.push(table(['gate', 'threshold', 'actual', 'result'], journal.gates.map((g) => [g.metric, g.threshold, g.detail.split(': ').slice(1).join(': '), g.ok ? 'pass' : 'FAIL'])));
  }

  out.push('', '## Verdict', '', `**${verdict}**`);
  if (journal.verdict.reasons.length) out.push('', ...journal.verdict.reasons.map((r) => `- ${cell(r)}`));
  if (journal.cleanup.leftovers.length) out.push('', `Cleanup leftovers: ${journal.cleanup.leftovers.map(cell).join('; ')}`);
  return out.join('\n') + '\n';
}

/**
 * What the load generator says about itself, so a run never blames the twin for the generator's
 * limit, and, for a ramp, where the service broke.
 */
export function describeGenerator(l: LoadSummary): string | undefined {
  const g = l.generator;
  if (!g) return undefined;
  const cost = `${g.workers > 0 ? `${g.workers} worker thread${g.workers === 1 ? '' : 's'}` : "the run's event loop"}${g.cpuShare === undefined ? '' : `, ${Math.round(g.cpuShare * 100)}% of a core`}`;
  const kept = g.saturatedSeconds === 0
    ? `the generator kept its schedule (${(g.lateShare * 100).toFixed(2)}% of requests left > 10 ms late, lag p99 ${ms(g.lagP99Ms)}; ${cost})`
    : `**the generator fell behind its schedule** in ${g.saturatedSeconds}${g.seconds ? ` of ${g.seconds}` : ''} second${g.saturatedSeconds === 1 && !g.seconds ? '' : 's'}, the first at t=${ms(g.saturatedFromMs ?? 0)} (more than 1% of that second's requests left > 10 ms late${g.dropped > 0 ? ', or some were never sent' : ''}; over the run ${(g.lateShare * 100).toFixed(2)}% left late, ${g.dropped} never sent; ${cost}). Latency counts from the due time, so that lateness is in those seconds' figures, not hidden`;
  if (l.breakpoint === undefined) return kept;
  const b = l.breakpoint;
  const broke = b
    ? `**the service broke at t=${ms(b.tMs)}**, asked ${b.ratePerSec}/s, answered ${b.goodPerSec}/s successfully (${b.reason}, three seconds in a row), while the generator sent every request with a lag p99 of ${ms(b.generatorLagP99Ms)}, too little to cause it`
    : g.saturatedSeconds > 0 || g.dropped > 0 ? 'the ramp found the generator\'s limit before the service\'s' : 'the service held the whole ramp';
  return `${kept}; ${broke}.`;
}
