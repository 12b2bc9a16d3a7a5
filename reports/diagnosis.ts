import type { FaultDiagnosis, Journal } from '../core/journal.ts';
import type { Series } from '../core/series.ts';
import { signedMs } from '../core/units.ts';
import { escapeHtml as e, formatDuration as ms } from './escape.ts';
import type { ReportInputs } from './inputs.ts';
import type { ProfileSample } from '../core/profile.ts';

interface FlameNode {
  name: string;
  value: number;
  children: Map<string, FlameNode>;
}

/** Samples of one host in [from, to) folded into a tree, root first. */
function fold(samples: readonly ProfileSample[], host: string, from: number, to: number): FlameNode {
  const root: FlameNode = { name: 'all', value: 0, children: new Map() };
  for (const s of samples) {
    if (s.host !== host || s.t < from || s.t >= to) continue;
    root.value += s.count;
    let node = root;
    for (const frame of s.frames) {
      let child = node.children.get(frame);
      if (!child) {
        child = { name: frame, value: 0, children: new Map() };
        node.children.set(frame, child);
      }
      child.value += s.count;
      node = child;
    }
  }
  return root;
}

/**
 * A flame graph as SVG (root at the bottom, each frame as wide as its share of the samples, the
 * function's name in the box and in its tooltip). Frames narrower than a pixel are left out.
 */
export function flameGraphSvg(samples: readonly ProfileSample[], host: string, from: number, to: number, width = 1000): string {
  const root = fold(samples, host, from, to);
  if (root.value === 0) return `<p class="muted">No on-CPU samples of ${e(host)} in this window (a paused or stopped process runs nothing).</p>`;
  const rowH = 16;
  const rects: string[] = [];
  let depth = 0;
  const walk = (node: FlameNode, x: number, level: number) => {
    depth = Math.max(depth, level);
    let offset = x;
    for (const child of [...node.children.values()].sort((a, b) => a.name.localeCompare(b.name))) {
      const w = (child.value / root.value) * width;
      if (w >= 1) {
        rects.push(`<g class="frame" data-level="${level}"><rect x="${offset.toFixed(1)}" y="LEVEL${level}" width="${(w - 0.5).toFixed(1)}" height="${rowH - 1}" fill="hsl(${20 + ((child.name.length * 37) % 40)},85%,${60 + ((child.name.charCodeAt(0) * 7) % 15)}%)"><title>${e(`${child.name}: ${child.value} samples (${((100 * child.value) / root.value).toFixed(1)}%)`)}</title></rect>${w > 40 ? `<text x="${(offset + 3).toFixed(1)}" y="LEVEL${level}T">${e(child.name.length * 6 > w - 6 ? `${child.name.slice(0, Math.max(1, Math.floor((w - 6) / 6) - 1))}…` : child.name)}</text>` : ''}</g>`);
        walk(child, offset, level + 1);
      }
      offset += w;
    }
  };
  walk(root, 0, 0);
  const height = (depth + 1) * rowH;
  const svg = rects.join('').replace(/LEVEL(\d+)(T?)/g, (_, level: string, text: string) => String(height - (Number(level) + 1) * rowH + (text ? 12 : 0)));
  return `<svg class="flame" data-host="${e(host)}" data-samples="${root.value}" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="on-CPU flame graph of ${e(host)}">${svg}</svg>`;
}

/** The process to profile for a fault: the top hypothesis' member, or the calling member of a link, or a service's first member. */
function suspectHost(d: FaultDiagnosis, journal: Journal): string | undefined {
  const top = d.hypotheses[0];
  if (!top) return undefined;
  const service = top.component.kind === 'link' ? top.component.id.split('->')[0]! : top.component.kind === 'service' ? top.component.id : undefined;
  if (!service) return top.component.id;
  return journal.scenario.twin.services.some((s) => s.name === service) ? `${service}-1` : undefined;
}

/** How far before a fault the card looks for changes in the twin. */
const CHANGES_BEFORE_MS = 180_000;
const BUCKET_MS = 5000;

/** A row of the dependency-health heatmap: one link or host pair, one measure. */
interface HeatRow {
  label: string;
  measure: string;
  series: Series[];
}

/**
 * The rows of the dependency-health heatmap: for each link from a service to a dependency, the
 * error rate and the p99 the caller sees (its `dependency` series), and for each host pair the
 * TCP retransmits the kernel counted.
 */
function heatRows(series: readonly Series[]): HeatRow[] {
  const rows = new Map<string, HeatRow>();
  const add = (key: string, label: string, measure: string, s: Series) => {
    const row = rows.get(key) ?? { label, measure, series: [] };
    row.series.push(s);
    rows.set(key, row);
  };
  for (const s of series) {
    const { dependency, service, src, dst } = s.labels;
    if (dependency && service) {
      if (/errors?_total:rate|_errors_per_sec/.test(s.name)) add(`${service}->${dependency} errors`, `${service}->${dependency}`, 'errors/s', s);
      else if (/duration.*:p99/.test(s.name)) add(`${service}->${dependency} p99`, `${service}->${dependency}`, 'p99 ms', s);
    } else if (s.name === 'bpf_tcp_retransmits_per_sec' && src && dst) {
      add(`${src}->${dst} retransmits`, `${src}->${dst}`, 'retransmits/s', s);
    }
  }
  return [...rows.values()].sort((a, b) => a.label.localeCompare(b.label) || a.measure.localeCompare(b.measure));
}

/** Mean of a row's series in [from, to), or NaN when it has no point there. */
function bucketMean(row: HeatRow, from: number, to: number): number {
  let sum = 0;
  let n = 0;
  for (const s of row.series) {
    for (let i = 0; i < s.t.length; i++) {
      const t = s.t[i]!;
      if (t >= from && t < to && Number.isFinite(s.v[i]!)) {
        sum += s.v[i]!;
        n++;
      }
    }
  }
  return n === 0 ? Number.NaN : sum / n;
}

/** Service x dependency x time: each cell's colour is how far the bucket is above the row's level before the fault. */
export function heatmapSvg(series: readonly Series[], from: number, to: number, fault: { appliedAt: number; healedAt: number }): string {
  const rows = heatRows(series);
  if (rows.length === 0) return '<p class="muted">No link or host-pair series in this run.</p>';
  const buckets = Math.max(1, Math.ceil((to - from) / BUCKET_MS));
  const cell = 12;
  const left = 260;
  const width = left + buckets * cell + 10;
  const height = rows.length * cell + 30;
  const parts: string[] = [];
  rows.forEach((row, r) => {
    const values = Array.from({ length: buckets }, (_, b) => bucketMean(row, from + b * BUCKET_MS, from + (b + 1) * BUCKET_MS));
    const before = values.filter((v, b) => Number.isFinite(v) && from + (b + 1) * BUCKET_MS <= fault.appliedAt);
    const normal = before.length ? [...before].sort((a, b) => a - b)[Math.floor(before.length / 2)]! : 0;
    const top = Math.max(normal, ...values.filter(Number.isFinite));
    parts.push(`<text x="${left - 6}" y="${r * cell + 10}" text-anchor="end">${e(`${row.label} ${row.measure}`)}</text>`);
    values.forEach((v, b) => {
      const level = Number.isFinite(v) && top > normal ? Math.max(0, Math.min(1, (v - normal) / (top - normal))) : 0;
      const fill = Number.isFinite(v) ? `rgb(${255},${Math.round(245 - 200 * level)},${Math.round(240 - 210 * level)})` : '#f6f8fa';
      parts.push(`<rect class="heat" x="${left + b * cell}" y="${r * cell}" width="${cell - 1}" height="${cell - 1}" fill="${fill}"><title>${e(`${row.label} ${row.measure} at ${signedMs(from + b * BUCKET_MS - fault.appliedAt)}: ${Number.isFinite(v) ? Number(v.toPrecision(3)) : 'no data'} (before: ${Number(normal.toPrecision(3))})`)}</title></rect>`);
    });
  });
  const x = (t: number) => left + ((t - from) / BUCKET_MS) * cell;
  parts.push(`<line x1="${x(fault.appliedAt)}" x2="${x(fault.appliedAt)}" y1="0" y2="${rows.length * cell}" stroke="#cf222e" stroke-width="2"/>`);
  parts.push(`<line x1="${x(fault.healedAt)}" x2="${x(fault.healedAt)}" y1="0" y2="${rows.length * cell}" stroke="#1a7f37" stroke-width="2"/>`);
  parts.push(`<text x="${x(fault.appliedAt)}" y="${rows.length * cell + 14}">applied</text><text x="${x(fault.healedAt)}" y="${rows.length * cell + 26}">healed</text>`);
  return `<svg class="heatmap" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="dependency health">${parts.join('')}</svg>`;
}

/** What changed in the twin in the 3 minutes before a fault: leader changes, config writes, process events, other faults. */
function changesBefore(journal: Journal, appliedAt: number): string {
  const changes = journal.timeline.filter((ev) => ev.t >= appliedAt - CHANGES_BEFORE_MS && ev.t < appliedAt && ['leader-change', 'config-write', 'process-exit', 'fault-applied', 'fault-healed', 'target-wait'].includes(ev.kind));
  if (changes.length === 0) return '<p class="muted">Nothing changed in the twin in the 3 minutes before (no leader change, config write, process event or other fault).</p>';
  return `<ul class="changes">${changes.map((ev) => `<li><code>${e(signedMs(ev.t - appliedAt))}</code> ${e(ev.kind)}: ${e(ev.detail)}</li>`).join('')}</ul>`;
}

function flameBlock(journal: Journal, d: FaultDiagnosis, profile: readonly ProfileSample[] | undefined, appliedAt: number, healedAt: number): string {
  if (!journal.bpf.probes.includes('profile')) return '<p class="muted">No on-CPU profile: add <code>profile</code> to <code>observe.bpf</code> to get one.</p>';
  const host = suspectHost(d, journal);
  if (!host) return '<p class="muted">No process to profile for this hypothesis.</p>';
  const length = Math.max(5000, healedAt - appliedAt);
  return `<p>On-CPU stacks of <b>${e(host)}</b> (the suspected process), sampled 49 times a second.</p>
<h4>During the fault</h4>${flameGraphSvg(profile ?? [], host, appliedAt, healedAt)}
<h4>Before it (as long, just before)</h4>${flameGraphSvg(profile ?? [], host, appliedAt - length, appliedAt)}`;
}

function card(journal: Journal, series: readonly Series[], d: FaultDiagnosis, profile?: readonly ProfileSample[]): string {
  const fault = journal.faults.find((f) => f.id === d.faultId);
  const appliedAt = fault?.appliedAt ?? 0;
  const healedAt = fault?.healedAt ?? appliedAt;
  const verdict = `${d.top1 ? '<span class="ok">top-1 right</span>' : d.top3 ? '<span class="bad">top-1 wrong</span>, top-3 right' : '<span class="bad">not in the top 3</span>'}, cause ${d.causeCorrect ? '<span class="ok">right</span>' : '<span class="bad">wrong</span>'}, time to localize ${d.ttlMs === null ? '<span class="bad">never</span>' : e(ms(d.ttlMs))}`;
  const hypotheses = d.hypotheses.map((h, i) => `<li class="hypothesis${d.truth.includes(h.component.id) ? ' true' : ''}"><b>${i + 1}. ${e(h.component.id)}</b> <span class="muted">${e(h.component.kind)}</span> · ${e(h.cause)} · confidence ${e(Math.round(h.confidence * 100))}%${d.truth.includes(h.component.id) ? ' · <span class="ok">the faulted component</span>' : ''}<ul>${h.evidence.map((x) => `<li>${e(x)}</li>`).join('')}</ul></li>`).join('');
  const path = d.path.map((p) => `<code>${e(signedMs(p.t - appliedAt))}</code> ${e(p.component)}`).join(' → ') || 'none';
  return `<section class="card" id="fault-${e(d.faultId)}">
<h2>${e(d.faultId)}: ${e(fault?.description ?? '')}</h2>
<p>It was <b>${e(d.truth.join(', '))}</b> (${e(d.truthCause)}). moat's localizer: ${verdict}.</p>
<h3>Hypotheses at the heal</h3><ol class="hypotheses">${hypotheses || '<li class="muted">no component had any evidence</li>'}</ol>
<p class="muted">The top hypothesis during the fault: ${path}</p>
<h3>Dependency health</h3>${heatmapSvg(series, appliedAt - 60_000, healedAt + 30_000, { appliedAt, healedAt })}
<h3>Where the suspected process spent its CPU</h3>${flameBlock(journal, d, profile, appliedAt, healedAt)}
<h3>Changes in the twin in the 3 minutes before</h3>${changesBefore(journal, appliedAt)}
</section>`;
}

const STYLE = `body{font:14px/1.45 system-ui,sans-serif;margin:0 auto;max-width:1100px;padding:16px 24px;color:#1b1f23}
h1{font-size:22px}h2{font-size:17px;border-bottom:1px solid #d0d7de;padding-bottom:4px;margin-top:28px}h3{font-size:14px;margin:14px 0 4px}
.ok{color:#116329;font-weight:600}.bad{color:#a40e26;font-weight:600}.muted{color:#57606a}code{font:12px ui-monospace,monospace;background:#f6f8fa;padding:1px 4px}
li.hypothesis{margin:6px 0}li.hypothesis.true>b{color:#116329}svg text{font:10px system-ui,sans-serif;fill:#57606a}h4{font-size:13px;margin:8px 0 2px}
svg.flame text{font:10px ui-monospace,monospace;fill:#1b1f23;pointer-events:none}`;

/**
 * `diagnosis.html`: the diagnosis card of every fault, one self-contained page (no scripts, no
 * network) — the hypotheses with their evidence against the truth, how the top hypothesis moved,
 * a dependency-health heatmap (link x time: errors and p99 per link, retransmits per host pair)
 * and what changed in the twin in the 3 minutes before.
 */
export function renderDiagnosisHtml({ journal, series, profile }: ReportInputs): string {
  const diagnosis = journal.diagnosis;
  const body = !diagnosis
    ? '<p class="muted">This journal has no diagnosis (a run from an older moat): <code>moat diagnose &lt;run-dir&gt;</code> computes one.</p>'
    : diagnosis.faults.length === 0
      ? '<p class="muted">No fault was applied.</p>'
      : diagnosis.faults.map((d) => card(journal, series, d, profile)).join('\n');
  const watched = series.length;
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>moat diagnosis: ${e(journal.scenarioName)}</title><style>${STYLE}</style></head>
<body><h1>Diagnosis: ${e(journal.scenarioName)} <span class="muted">run ${e(journal.runId)}</span></h1>
<p class="muted">From ${e(watched)} series of the run${diagnosis ? `, an evidence window of ${e(ms(diagnosis.windowMs))}, computed in ${e(ms(diagnosis.elapsedMs))}` : ''}. The full report is <a href="report.html">report.html</a>.</p>
${body}
<footer class="muted">moat ${e(journal.moatVersion)} · generated from journal.json and series of run ${e(journal.runId)}</footer>
</body></html>
`;
}
