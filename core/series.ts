/** A time series. `t` is ms since the run clock's zero; `v` holds NaN for a missing point. */
export interface Series {
  name: string;
  labels: Record<string, string>;
  t: Float64Array;
  v: Float64Array;
}

export function seriesLabel(series: Pick<Series, 'name' | 'labels'>): string {
  const parts = Object.keys(series.labels).sort().map((k) => `${k}=${series.labels[k]}`);
  return parts.length === 0 ? series.name : `${series.name}{${parts.join(',')}}`;
}
