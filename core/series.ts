/** A time series. `t` is ms since the run clock's zero; `v` holds NaN for a missing point. */
export interface Series {
  name: string;
  labels: Record<string, string>;
  t: Float64Array;
  v: Float64Array;
}

/**
 * The identity of a series as a map key: its name and labels, sorted, with values quoted so that
 * no two series share a key. `seriesLabel` is the readable form for reports.
 */
export function seriesKey(name: string, labels: Readonly<Record<string, string>>): string {
  const parts = Object.keys(labels).sort().map((k) => `${k}=${JSON.stringify(labels[k])}`);
  return parts.length === 0 ? name : `${name}{${parts.join(',')}}`;
}

/** A series as people read it: `name{a=1,b=2}`, labels sorted. */
export function seriesLabel(series: Pick<Series, 'name' | 'labels'>): string {
  const parts = Object.keys(series.labels).sort().map((k) => `${k}=${series.labels[k]}`);
  return parts.length === 0 ? series.name : `${series.name}{${parts.join(',')}}`;
}

/** Where observations go as they arrive: the run's series store, or a test's. */
export interface SeriesSink {
  append(name: string, labels: Record<string, string>, t: number, v: number): void;
}

/** Which metrics of a Prometheus exposition to keep, and how to turn them into series. */
export interface MetricSelection {
  /** kept as they are */
  gauges: readonly string[];
  /** turned into per-second rates, named `<name>:rate`; summed over labels, or split by `by` labels */
  counters: readonly (string | { name: string; by: readonly string[] })[];
  /** turned into the p50 and p99 (in ms) of each interval, named `<name>:p99_ms`; split by `by` labels */
  histograms: readonly { name: string; by?: readonly string[] }[];
}

/** A Prometheus endpoint of the twin that moat scrapes (and a real Prometheus can scrape too). */
export interface ScrapeTarget {
  url: string;
  /** labels added to every series, e.g. `{ service: 'etcd', member: 'etcd-1' }` */
  labels: Record<string, string>;
  select: MetricSelection;
}

/**
 * Whether a series matches a pattern: its full label, its name, a label prefix ending in `*`,
 * or a part of the label between two `*` (`*error_ratio*`).
 */
export function matchesSeries(series: Pick<Series, 'name' | 'labels'>, pattern: string): boolean {
  const label = seriesLabel(series);
  if (pattern.length > 2 && pattern.startsWith('*') && pattern.endsWith('*')) return label.includes(pattern.slice(1, -1));
  if (pattern.endsWith('*')) return label.startsWith(pattern.slice(0, -1));
  return label === pattern || series.name === pattern;
}
