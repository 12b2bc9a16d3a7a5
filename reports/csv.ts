import { seriesLabel, type Series } from '../core/series.ts';

function quote(field: string): string {
  return /[",\n\r]/.test(field) ? `"${field.replace(/"/g, '""')}"` : field;
}

/** All series in long form: `series,name,labels,t_ms,value`, one row per point; empty value for NaN. */
export function seriesToCsv(series: readonly Series[]): string {
  const rows = ['series,name,labels,t_ms,value'];
  for (const s of series) {
    const label = quote(seriesLabel(s));
    const labels = quote(Object.keys(s.labels).sort().map((k) => `${k}=${s.labels[k]}`).join(';'));
    const name = quote(s.name);
    for (let i = 0; i < s.t.length; i++) {
      const v = s.v[i]!;
      rows.push(`${label},${name},${labels},${s.t[i]},${Number.isFinite(v) ? v : ''}`);
    }
  }
  return rows.join('\n') + '\n';
}
