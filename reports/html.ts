import type { Journal } from '../core/journal.ts';
import { seriesLabel, type Series } from '../core/series.ts';
import { escapeHtml as e, formatDuration as ms } from './escape.ts';
import { signedMs } from '../core/units.ts';
import type { ReportInputs } from './inputs.ts';
import { describeGenerator } from './markdown.ts';

/** At most this many points per line in a chart: min/max per bucket keeps spikes visible. */
const MAX_POINTS_PER_LINE = 600;
const MAX_CHARTS = 12;
const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#17becf', '#8c564b', '#e377c2'];
const DETECTOR_COLORS = ['#b8860b', '#6a3d9a', '#00796b', '#c2185b'];

/**
 * The postmortem report: one self-contained HTML file (no scripts, no external styles, fonts or
 * images), a pure function of the journal, its series and the run folder's file list. Every
 * string that came from the run (logs, labels, errors) is escaped.
 */
export function renderHtml({ journal, series, evidence }: ReportInputs): string {
  const passed = journal.verdict.passed;
  const sections = [
    header(journal),
    verdictSection(journal),
    section('Scenario', scenarioBlock(journal)),
    section('Timeline', timelineBlock(journal)),
    section('Charts', chartsBlock(journal, series)),
    section('Detection', detectionBlock(journal)),
    ...(journal.alerts ? [section('Team alert rules', alertsBlock(journal))] : []),
    ...(journal.diagnosis ? [section('Diagnosis', diagnosisBlock(journal))] : []),
    section('Gates', gatesBlock(journal)),
    section('Data integrity and load', loadBlock(journal)),
    section('Fault evidence', faultEvidenceBlock(journal)),
    section('Evidence files', evidenceBlock(evidence)),
    section('Run details', detailsBlock(journal)),
  ];
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>moat: ${e(journal.scenarioName)} - ${passed ? 'PASSED' : 'FAILED'}</title>
<style>${STYLE}</style>
</head>
<body>
${sections.join('\n')}
<footer>moat ${e(journal.moatVersion)} · report generated from journal.json of run ${e(journal.runId)}</footer>
</body>
</html>
`;
}

const STYLE = `
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0 auto;max-width:1100px;padding:16px 24px;color:#1b1f23;background:#fff}
h1{font-size:22px;margin:8px 0}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #d0d7de;padding-bottom:4px}
table{border-collapse:collapse;width:100%;margin:6px 0 12px}th,td{border:1px solid #d0d7de;padding:3px 7px;text-align:left;vertical-align:top}
th{background:#f6f8fa;font-weight:600}td.num{text-align:right;font-variant-numeric:tabular-nums}
.verdict{padding:12px 16px;border-radius:6px;font-size:18px;font-weight:700;margin:10px 0}
.pass{background:#dafbe1;color:#116329;border:1px solid #4ac26b}.fail{background:#ffebe9;color:#a40e26;border:1px solid #ff8182}
.ok{color:#116329;font-weight:600}.bad{color:#a40e26;font-weight:600}.muted{color:#57606a}
code{font:12px ui-monospace,SFMono-Regular,Menlo,monospace;background:#f6f8fa;padding:1px 4px;border-radius:3px}
.chart{margin:10px 0 18px}.chart h3{font-size:14px;margin:0 0 2px}.legend span{margin-right:14px;font-size:12px}
.legend i{display:inline-block;width:12px;height:3px;vertical-align:middle;margin-right:4px}
svg text{font:11px system-ui,sans-serif;fill:#57606a}footer{margin:32px 0 8px;color:#57606a;font-size:12px}
ul.reasons{margin:4px 0}details summary{cursor:pointer;color:#0969da}
`;

function section(title: string, body: string): string {
  return `<section><h2>${e(title)}</h2>\n${body}\n</section>`;
}

function table(header: string[], rows: string[][], numeric: number[] = []): string {
  const head = `<tr>${header.map((h) => `<th>${e(h)}</th>`).join('')}</tr>`;
  const body = rows.map((r) => `<tr>${r.map((c, i) => `<td${numeric.includes(i) ? ' class="num"' : ''}>${c}</td>`).join('')}</tr>`).join('\n');
  return `<table>${head}\n${body}</table>`;
}

function at(t: number | null | undefined): string {
  return t === null || t === undefined ? '-' : `${(t / 1000).toFixed(2)} s`;
}

function header(journal: Journal): string {
  return `<h1>moat run: ${e(journal.scenarioName)}</h1>
<p class="muted">run <code>${e(journal.runId)}</code> · seed <code>${e(journal.seed)}</code> · status <b>${e(journal.status)}</b> · started ${e(journal.startedAt)} · ${e(ms(journal.durationMs))}</p>`;
}

function verdictSection(journal: Journal): string {
  const passed = journal.verdict.passed;
  const reasons = journal.verdict.reasons.length ? `<ul class="reasons">${journal.verdict.reasons.map((r) => `<li>${e(r)}</li>`).join('')}</ul>` : '';
  return `<div class="verdict ${passed ? 'pass' : 'fail'}" id="verdict">${passed ? 'PASSED' : 'FAILED'}</div>${reasons}`;
}

function scenarioBlock(journal: Journal): string {
  return `${journal.description ? `<p>${e(journal.description)}</p>` : ''}
<p class="muted">file <code>${e(journal.scenarioFile)}</code> · seed ${e(journal.seed)} (replay: <code>moat run ${e(journal.scenarioFile)} --seed ${e(journal.seed)}</code>)</p>
<ul>${journal.plan.map((line) => `<li>${e(line)}</li>`).join('')}</ul>
<p class="muted">${journal.bpf.enabled ? `eBPF probes: ${e(journal.bpf.probes.join(', '))} (${e(journal.bpf.attachedProbes)} tracepoints attached); their program and raw output are in bpf/` : `eBPF probes: off${journal.bpf.reason ? ` (${e(journal.bpf.reason)})` : ''}`}</p>`;
}

function timelineBlock(journal: Journal): string {
  const rows: string[][] = [];
  for (const f of journal.faults) {
    rows.push([at(f.scheduledAt), 'fault-scheduled', e(`${f.id}: ${f.description}`)]);
  }
  for (const event of journal.timeline) rows.push([at(event.t), e(event.kind), e(event.detail)]);
  rows.sort((a, b) => parseFloat(a[0]!) - parseFloat(b[0]!));
  const alarms = rows.filter((r) => r[1] === 'alarm');
  const main = rows.filter((r) => r[1] !== 'alarm' || alarms.indexOf(r) < 30);
  const more = alarms.length > 30 ? `<p class="muted">${alarms.length - 30} more alarms are listed in journal.json.</p>` : '';
  return table(['t', 'event', 'detail'], main, [0]) + more;
}

interface Line {
  label: string;
  t: Float64Array;
  v: Float64Array;
}

/** Keeps the first, last, min and max of each bucket so that spikes survive downsampling. */
export function downsample(t: Float64Array, v: Float64Array, maxPoints: number): { t: number[]; v: number[] } {
  if (t.length <= maxPoints) return { t: Array.from(t), v: Array.from(v) };
  const buckets = Math.floor(maxPoints / 2);
  const size = t.length / buckets;
  const outT: number[] = [];
  const outV: number[] = [];
  for (let b = 0; b < buckets; b++) {
    const from = Math.floor(b * size);
    const to = Math.min(t.length, Math.floor((b + 1) * size));
    let min = from;
    let max = from;
    for (let i = from; i < to; i++) {
      if (!(v[i]! >= v[min]!)) min = i;
      if (!(v[i]! <= v[max]!)) max = i;
    }
    for (const i of min <= max ? [min, max] : [max, min]) {
      if (outT[outT.length - 1] !== t[i]) {
        outT.push(t[i]!);
        outV.push(v[i]!);
      }
    }
  }
  return { t: outT, v: outV };
}

/** The series to chart: the watched ones grouped by name, then leader agreement. */
function chartGroups(journal: Journal, series: readonly Series[]): { name: string; lines: Line[] }[] {
  const watched = new Set(journal.series.watched);
  const names: string[] = [];
  for (const s of series) if (watched.has(seriesLabel(s)) && !names.includes(s.name)) names.push(s.name);
  if (series.some((s) => s.name === 'moat_leader_agreed')) names.push('moat_leader_agreed');
  return names.slice(0, MAX_CHARTS).map((name) => ({
    name,
    lines: series.filter((s) => s.name === name && (name === 'moat_leader_agreed' || watched.has(seriesLabel(s)))).map((s) => ({ label: seriesLabel(s), t: s.t, v: s.v })),
  }));
}

function chartsBlock(journal: Journal, series: readonly Series[]): string {
  const groups = chartGroups(journal, series);
  if (groups.length === 0) return '<p class="muted">No series were recorded.</p>';
  const legend = `<p class="muted">Shaded red: fault windows (applied to healed). Grey: warm-up (detector training). Dashed lines: each detector's first alarm on a series during a fault.</p>`;
  return legend + groups.map((g) => chart(journal, g.name, g.lines)).join('\n');
}

function niceNumber(value: number): string {
  if (value === 0) return '0';
  const abs = Math.abs(value);
  if (abs >= 1000) return value.toFixed(0);
  if (abs >= 10) return value.toFixed(1);
  if (abs >= 0.01) return value.toFixed(3);
  return value.toExponential(1);
}

function chart(journal: Journal, name: string, lines: Line[]): string {
  const width = 1000;
  const height = 170;
  const left = 58;
  const right = 12;
  const top = 10;
  const bottom = 24;
  const plotW = width - left - right;
  const plotH = height - top - bottom;
  const endT = Math.max(journal.runEndsAt ?? 0, ...lines.map((l) => l.t[l.t.length - 1] ?? 0), 1);
  let min = Infinity;
  let max = -Infinity;
  for (const line of lines) for (const v of line.v) if (Number.isFinite(v)) { min = Math.min(min, v); max = Math.max(max, v); }
  if (!Number.isFinite(min)) { min = 0; max = 1; }
  if (min > 0 && min < max * 0.5) min = 0;
  if (max === min) { max = min + (Math.abs(min) || 1); min = min - (max - min) * 0.1; }
  const x = (t: number) => left + (t / endT) * plotW;
  const y = (v: number) => top + plotH - ((v - min) / (max - min)) * plotH;
  const parts: string[] = [];
  parts.push(`<rect x="${left}" y="${top}" width="${plotW}" height="${plotH}" fill="#fff" stroke="#d0d7de"/>`);
  if (journal.warmupEndsAt > 0 && Number.isFinite(journal.warmupEndsAt)) {
    parts.push(`<rect class="warmup" x="${left}" y="${top}" width="${(x(Math.min(journal.warmupEndsAt, endT)) - left).toFixed(1)}" height="${plotH}" fill="#8c959f" fill-opacity="0.12"/>`);
  }
  for (const f of journal.faults) {
    if (f.appliedAt === null) continue;
    const x0 = x(f.appliedAt);
    const x1 = x(f.healedAt ?? endT);
    parts.push(`<rect class="fault-window" x="${x0.toFixed(1)}" y="${top}" width="${Math.max(1, x1 - x0).toFixed(1)}" height="${plotH}" fill="#d62728" fill-opacity="0.13"><title>${e(`${f.id} on ${f.target ?? '?'}: ${at(f.appliedAt)} to ${at(f.healedAt)}`)}</title></rect>`);
  }
  for (const tick of [0, 0.25, 0.5, 0.75, 1]) {
    const t = endT * tick;
    parts.push(`<line x1="${x(t).toFixed(1)}" x2="${x(t).toFixed(1)}" y1="${top + plotH}" y2="${top + plotH + 4}" stroke="#8c959f"/><text x="${x(t).toFixed(1)}" y="${height - 6}" text-anchor="middle">${(t / 1000).toFixed(0)} s</text>`);
  }
  parts.push(`<text x="${left - 6}" y="${top + 10}" text-anchor="end">${e(niceNumber(max))}</text><text x="${left - 6}" y="${top + plotH}" text-anchor="end">${e(niceNumber(min))}</text>`);
  lines.forEach((line, i) => {
    const { t, v } = downsample(line.t, line.v, MAX_POINTS_PER_LINE);
    let d = '';
    let pen = false;
    for (let j = 0; j < t.length; j++) {
      if (!Number.isFinite(v[j]!)) { pen = false; continue; }
      d += `${pen ? 'L' : 'M'}${x(t[j]!).toFixed(1)} ${y(Math.min(max, Math.max(min, v[j]!))).toFixed(1)}`;
      pen = true;
    }
    parts.push(`<path class="series" d="${d}" fill="none" stroke="${COLORS[i % COLORS.length]}" stroke-width="1.4"><title>${e(line.label)}</title></path>`);
  });
  const labels = new Set(lines.map((l) => l.label));
  journal.detectors.forEach((detector, di) => {
    for (const detection of journal.seriesDetections) {
      if (detection.detector !== detector || !detection.alarm || !labels.has(detection.series ?? '')) continue;
      const ax = x(detection.alarm.t).toFixed(1);
      parts.push(`<line class="first-alarm" x1="${ax}" x2="${ax}" y1="${top}" y2="${top + plotH}" stroke="${DETECTOR_COLORS[di % DETECTOR_COLORS.length]}" stroke-width="1.5" stroke-dasharray="4 3"><title>${e(`${detector}: first alarm on ${detection.series} for ${detection.faultId}, TTD ${ms(detection.ttdMs)}`)}</title></line>`);
    }
  });
  const legend = lines.map((l, i) => `<span><i style="background:${COLORS[i % COLORS.length]}"></i>${e(l.label)}</span>`).join('');
  return `<div class="chart"><h3>${e(name)}</h3><svg viewBox="0 0 ${width} ${height}" width="100%" role="img" aria-label="${e(name)}">${parts.join('')}</svg><div class="legend">${legend}</div></div>`;
}

function detectionBlock(journal: Journal): string {
  const matrix = table(['fault', ...journal.detectors], journal.faults.filter((f) => f.appliedAt !== null).map((f) => [e(f.id), ...journal.detectors.map((name) => {
    const d = journal.detections.find((x) => x.faultId === f.id && x.detector === name);
    return !d || d.ttdMs === null ? '<span class="bad">MISS</span>' : e(ms(d.ttdMs));
  })]), journal.detectors.map((_, i) => i + 1));
  const byFault = table(['fault', 'detector', 'first series to alarm', 'TTD'], journal.detections.map((d) => [
    e(d.faultId), e(d.detector), e(d.series ?? '-'), d.ttdMs === null ? '<span class="bad">MISS</span>' : e(ms(d.ttdMs)),
  ]), [3]);
  const perSeries = table(['fault', 'detector', 'series', 'TTD'], journal.seriesDetections.map((d) => [
    e(d.faultId), e(d.detector), e(d.series ?? '-'), d.ttdMs === null ? '<span class="muted">miss</span>' : e(ms(d.ttdMs)),
  ]), [3]);
  const scores = table(['detector', 'detected', 'missed', 'median TTD', 'false alarms', 'false alarms / h', 'NAB standard (0-100)', 'NAB low-FP', 'NAB low-FN'], journal.detectorScores.map((d) => [
    e(d.detector), e(`${d.detected}/${d.faults}`), e(d.missed), e(ms(d.medianTtdMs)), e(d.falseAlarms), e(d.falseAlarmsPerHour.toFixed(1)), e(d.nabNormalized.standard.toFixed(1)), e(d.nabNormalized.reward_low_fp.toFixed(1)), e(d.nabNormalized.reward_low_fn.toFixed(1)),
  ]), [1, 2, 3, 4, 5, 6, 7, 8]);
  const errors = journal.detectorErrors.length === 0 ? '' : `<details><summary>Detector errors (${journal.detectorErrors.length})</summary>${table(['detector', 'series', 'error'], journal.detectorErrors.map((x) => [e(x.detector), e(x.series), e(x.error)]))}</details>`;
  return `<p class="muted">An alarm detects a fault when it falls in [applied, healed + ${e(ms(journal.graceMs))}]. Detectors were fitted on the warm-up only.</p>
${matrix}${byFault}${scores}${journal.baselineSources.length ? `<p>Trained on more than the warm-up:</p><ul>${journal.baselineSources.map((x) => `<li>${e(x)}</li>`).join('')}</ul>` : ''}${errors}<details><summary>Per watched series (${journal.seriesDetections.length})</summary>${perSeries}</details>`;
}

/** The team's alert rules beside moat's detectors: per fault, pending, firing (TTD) and paged, and the ratio to moat's best. */
function alertsBlock(journal: Journal): string {
  const alerts = journal.alerts!;
  const summary = `<p>Evaluated by a real Prometheus ${e(alerts.prometheus.version)}${alerts.alertmanager ? ' with an Alertmanager paging moat' : ''}.${alerts.prometheus.error ? ` <span class="bad">${e(alerts.prometheus.error)}</span>` : ''}
 Blind rules (fired for none of the faults they cover): ${alerts.blind.length ? alerts.blind.map((b) => `<span class="bad">${e(b)}</span>`).join(', ') : '<span class="ok">none</span>'}.
 Unpaged faults: ${alerts.unpaged.length ? alerts.unpaged.map((u) => `<span class="bad">${e(u)}</span>`).join(', ') : '<span class="ok">none</span>'}.</p>`;
  const rules = table(['rule', 'file', 'for', 'expression'], alerts.rules.map((r) => [e(r.name), e(`${r.file}:${r.line}`), e(ms(r.forMs)), `<code>${e(r.expr)}</code>`]), [2]);
  const rows = table(['fault', 'rule', 'covers', 'pending', 'firing (TTD)', 'paged', 'x moat\'s best'], alerts.detections.map((d) => [
    e(d.faultId), e(d.alert), d.covers ? 'yes' : '<span class="muted">no</span>', e(ms(d.pendingMs)),
    d.ttdMs === null ? '<span class="bad">never</span>' : e(ms(d.ttdMs)), e(ms(d.notifiedMs)), d.ratioToBest === null ? '-' : e(`${d.ratioToBest.toFixed(1)}x`),
  ]), [3, 4, 5, 6]);
  return summary + rules + rows;
}

/** Where each fault was: moat's top hypotheses with their evidence, against the truth, and the time to localize. */
export function diagnosisBlock(journal: Journal): string {
  const diagnosis = journal.diagnosis!;
  if (diagnosis.faults.length === 0) return '<p class="muted">No fault was applied.</p>';
  const summary = table(['fault', 'where it was', 'top hypothesis', 'top-1', 'top-3', 'cause', 'time to localize'], diagnosis.faults.map((f) => [
    e(f.faultId), e(`${f.truth.join(', ')} (${f.truthCause})`), f.hypotheses[0] ? e(`${f.hypotheses[0].component.id} (${f.hypotheses[0].cause})`) : '<span class="muted">none</span>',
    f.top1 ? '<span class="ok">yes</span>' : '<span class="bad">no</span>', f.top3 ? '<span class="ok">yes</span>' : '<span class="bad">no</span>',
    f.causeCorrect ? '<span class="ok">right</span>' : '<span class="bad">wrong</span>', f.ttlMs === null ? '<span class="bad">never</span>' : e(ms(f.ttlMs)),
  ]), [6]);
  const cards = diagnosis.faults.map((f) => `<div class="diagnosis" data-fault="${e(f.faultId)}"><h3>${e(f.faultId)}</h3><ol>${f.hypotheses.map((h) => `<li><b>${e(h.component.id)}</b> (${e(h.component.kind)}): ${e(h.cause)}, confidence ${e(`${Math.round(h.confidence * 100)}%`)}${f.truth.includes(h.component.id) ? ' <span class="ok">the faulted component</span>' : ''}<ul>${h.evidence.map((x) => `<li>${e(x)}</li>`).join('')}</ul></li>`).join('')}</ol>
<p class="muted">Top hypothesis over the fault: ${f.path.map((p) => e(`${at(p.t)} ${p.component}`)).join(' → ') || 'none'}</p></div>`).join('');
  return `<p><a href="diagnosis.html">The diagnosis card</a> of each fault adds a dependency-health heatmap and what changed in the twin before it.</p><p class="muted">moat's localizer ranks the twin's members, services and links by the evidence of the last ${e(ms(diagnosis.windowMs))} (series outside their warm-up normal, TCP trouble between hosts, process events, leader changes), explaining a caller's symptoms by its dependencies. Judged at the heal; time to localize is from the fault's start until the top hypothesis named the faulted component and stayed on it.</p>${summary}${cards}`;
}

function gatesBlock(journal: Journal): string {
  if (journal.gates.length === 0) return '<p class="muted">The scenario has no gates.</p>';
  return table(['gate', 'threshold', 'measured', 'result'], journal.gates.map((g) => [
    `<code>${e(g.metric)}</code>`, `<code>${e(g.threshold)}</code>`, e(g.detail.split(': ').slice(1).join(': ')), g.ok ? '<span class="ok">pass</span>' : '<span class="bad">FAIL</span>',
  ]));
}

function loadBlock(journal: Journal): string {
  if (journal.load.length === 0) return '<p class="muted">No load ran.</p>';
  const count = (n: number | undefined, na: string) => (n === undefined ? `<span class="muted">${na}</span>` : n === 0 ? '<span class="ok">0</span>' : `<span class="bad">${e(n)}</span>`);
  const integrity = table(['load', 'acknowledged writes', 'lost', 'duplicated', 'reordered', 'unacknowledged but applied', 'read-back'], journal.load.map((l) => [
    e(l.name), e(l.ackedWrites), count(l.lostWrites, ''), count(l.messages?.duplicated, 'n/a (keys are unique)'), count(l.messages?.reordered, 'n/a'), e(l.indeterminateApplied), l.readBackError ? `<span class="bad">${e(l.readBackError)}</span>` : 'complete',
  ]), [1, 2, 3, 4, 5]);
  const partitions = journal.load.filter((l) => l.messages && l.messages.partitions.length > 0).map((l) => `<details><summary>${e(l.name)} per partition (consumer group: ${e(l.messages!.consumed)} received, ${e(l.messages!.redelivered)} redelivered, ${e(l.messages!.ackedNotConsumed)} acknowledged but never received)</summary>${table(['partition', 'acknowledged', 'stored', 'lost', 'duplicated', 'reordered'], l.messages!.partitions.map((p) => [e(p.partition), e(p.acked), e(p.stored), count(p.lost, ''), count(p.duplicated, ''), count(p.reordered, '')]), [0, 1, 2, 3, 4, 5])}</details>`).join('');
  const ops = table(['load', 'op', 'requests', 'errors', 'availability', 'p50', 'p99', 'max'], journal.load.flatMap((l) => Object.entries(l.byOp).map(([op, o]) => [
    e(l.name), e(op), e(o.requests), e(o.errors), o.requests ? e(`${((1 - o.errors / o.requests) * 100).toFixed(2)}%`) : '-', e(ms(o.p50Ms)), e(ms(o.p99Ms)), e(ms(o.maxMs)),
  ])), [2, 3, 4, 5, 6, 7]);
  const lost = journal.load.filter((l) => l.lostKeys.length > 0).map((l) => `<details><summary>lost keys of ${e(l.name)}</summary><pre>${e(l.lostKeys.join('\n'))}</pre></details>`).join('');
  // the generator's own account, and where a ramped service broke: markdown's words, bold kept
  const generator = journal.load.map((l) => [l.name, describeGenerator(l)] as const).filter(([, text]) => text).map(([name, text]) => `<p>${e(name)}: ${e(text!).replace(/\*\*(.+?)\*\*/g, '<strong>$1</strong>')}</p>`).join('');
  return integrity + partitions + ops + generator + lost;
}

function faultEvidenceBlock(journal: Journal): string {
  const faults = table(['fault', 'target', 'scheduled', 'applied', 'healed', 'verified', 'new leader', 'recovery'], journal.faults.map((f) => [
    e(f.id), e(f.target ?? '-'), e(at(f.scheduledAt)), f.appliedAt === null ? `<span class="bad">never</span>${f.error ? ` ${e(f.error)}` : ''}` : e(`${at(f.appliedAt)} (${signedMs(f.appliedAt - f.scheduledAt)})`),
    f.healedAt === null ? '<span class="bad">not healed</span>' : e(at(f.healedAt)), f.verified.ok ? '<span class="ok">yes</span>' : '<span class="bad">no</span>',
    e(f.leaderChange ? `${f.leaderChange.to} after ${ms(f.leaderChange.afterMs)}` : '-'), e(f.recoveryMs === null ? 'not recovered' : ms(f.recoveryMs)),
  ]));
  const evidence = journal.faults.map((f) => f.verified.evidence.length === 0 ? '' : `<h3>${e(f.id)}</h3><ul>${f.verified.evidence.map((ev) => `<li><span class="${ev.ok ? 'ok' : 'bad'}">${ev.ok ? 'ok' : 'FAILED'}</span> [${e(ev.kind)}] ${e(ev.detail)} <span class="muted">at ${e(at(ev.t))}</span></li>`).join('')}</ul>`).join('');
  return faults + evidence;
}

function evidenceBlock(evidence: ReportInputs['evidence']): string {
  if (evidence.length === 0) return '<p class="muted">No files listed.</p>';
  return table(['file', 'bytes', 'sha256'], evidence.map((f) => [`<code>${e(f.path)}</code>`, e(f.bytes), `<code>${e(f.sha256)}</code>`]), [1]);
}

function detailsBlock(journal: Journal): string {
  const versions = table(['component', 'version'], Object.entries(journal.versions).map(([k, v]) => [e(k), e(v)]));
  const activities = table(['activity', 'status', 'duration', 'error'], journal.activities.map((a) => [e(a.name), a.status === 'succeeded' ? 'succeeded' : '<span class="bad">failed</span>', e(ms(a.durationMs)), e(a.error ?? '')]), [2]);
  const cleanup = journal.cleanup.ok ? '<p class="ok">Everything the run created was removed.</p>' : `<p class="bad">Cleanup left: ${e(journal.cleanup.leftovers.join('; '))}</p>`;
  const random = journal.randomChoices.length ? table(['choice', 'options', 'chosen'], journal.randomChoices.map((c) => [e(c.what), e(c.options.join(', ')), e(c.chosen)])) : '<p class="muted">No random choices were made.</p>';
  return `${cleanup}<h3>Versions</h3>${versions}<h3>Random choices (seed ${e(journal.seed)})</h3>${random}<details><summary>Activities (${journal.activities.length})</summary>${activities}</details>`;
}
