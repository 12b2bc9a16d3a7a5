import type { RangeSeries } from './prometheus.ts';

/**
 * One episode of an alert: from the evaluation where it became pending to the one where it
 * resolved (null: still active when the run ended). Times in epoch ms; `firingAt` null when it
 * resolved before its `for:` was up.
 */
export interface AlertEpisode {
  alert: string;
  labels: Record<string, string>;
  pendingAt: number;
  firingAt: number | null;
  resolvedAt: number | null;
}

function identity(labels: Record<string, string>): string {
  return JSON.stringify(Object.keys(labels).sort().map((k) => [k, labels[k]]));
}

/** The labels that tell one alert instance from another (without Prometheus' own bookkeeping labels). */
function instanceLabels(metric: Record<string, string>): Record<string, string> {
  const { __name__: _name, alertstate: _state, ...labels } = metric;
  return labels;
}

/**
 * Episodes from Prometheus' own `ALERTS` series over a range (`alertstate` pending or firing, 1 at
 * every evaluation while active). An instance is active at an evaluation when either state has a
 * sample there; a gap of more than `stepMs` ends an episode.
 */
export function episodesFromAlerts(series: readonly RangeSeries[], stepMs: number): AlertEpisode[] {
  const byInstance = new Map<string, { labels: Record<string, string>; pending: number[]; firing: number[] }>();
  for (const s of series) {
    const labels = instanceLabels(s.metric);
    const key = identity(labels);
    let entry = byInstance.get(key);
    if (!entry) byInstance.set(key, (entry = { labels, pending: [], firing: [] }));
    const times = s.values.filter(([, v]) => Number(v) === 1).map(([t]) => Math.round(t * 1000));
    (s.metric.alertstate === 'firing' ? entry.firing : entry.pending).push(...times);
  }
  const episodes: AlertEpisode[] = [];
  for (const { labels, pending, firing } of byInstance.values()) {
    const firingSet = new Set(firing);
    const active = [...new Set([...pending, ...firing])].sort((a, b) => a - b);
    let start: number | undefined;
    let firedAt: number | null = null;
    let last = Number.NaN;
    const close = (resolvedAt: number | null) => {
      if (start !== undefined) episodes.push({ alert: labels.alertname ?? '', labels, pendingAt: start, firingAt: firedAt, resolvedAt });
      start = undefined;
      firedAt = null;
    };
    for (const t of active) {
      if (start !== undefined && t - last > stepMs * 1.5) close(last + stepMs);
      if (start === undefined) start = t;
      if (firedAt === null && firingSet.has(t)) firedAt = t;
      last = t;
    }
    close(null);
  }
  return episodes.sort((a, b) => a.pendingAt - b.pendingAt);
}

/**
 * Prometheus' alert state machine over an expression's values at each evaluation (a range query
 * of the rule's `expr` at the evaluation interval): an instance whose expression has a sample is
 * pending, fires once it has held for `forMs`, and resolves when it stops holding (after
 * `keepFiringForMs`, once firing). `endMs` is the last evaluation: what is still active then has
 * not resolved.
 */
export function episodesFromExpression(alert: string, series: readonly RangeSeries[], rule: { forMs: number; keepFiringForMs: number; labels?: Record<string, string> }, stepMs: number, endMs: number): AlertEpisode[] {
  const episodes: AlertEpisode[] = [];
  for (const s of series) {
    const labels = { alertname: alert, ...instanceLabels(s.metric), ...rule.labels };
    const times = s.values.map(([t]) => Math.round(t * 1000)).sort((a, b) => a - b);
    let episode: AlertEpisode | undefined;
    let lastActive = Number.NaN;
    const evaluations = times.length === 0 ? [] : range(times[0]!, Math.max(endMs, times[times.length - 1]!), stepMs);
    const active = new Set(times);
    for (const t of evaluations) {
      if (active.has(t)) {
        if (!episode) episode = { alert, labels, pendingAt: t, firingAt: null, resolvedAt: null };
        if (episode.firingAt === null && t - episode.pendingAt >= rule.forMs) episode.firingAt = t;
        lastActive = t;
      } else if (episode) {
        const kept = episode.firingAt !== null && t - lastActive < rule.keepFiringForMs;
        if (!kept) {
          episode.resolvedAt = t;
          episodes.push(episode);
          episode = undefined;
        }
      }
    }
    if (episode) episodes.push(episode);
  }
  return episodes.sort((a, b) => a.pendingAt - b.pendingAt);
}

function range(from: number, to: number, step: number): number[] {
  const out: number[] = [];
  for (let t = from; t <= to; t += step) out.push(t);
  return out;
}
