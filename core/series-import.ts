import { InvalidInputError } from './errors.ts';
import { readRegularFile } from './files.ts';
import type { Series } from './series.ts';

/** A timestamp as written in the input, kept so results can be reported in the same form. */
export type Timestamp = number | string;

export interface ImportedSeries {
  series: Series[];
  /** epoch ms of t = 0 (the earliest point) */
  originMs: number;
  /** the input's own timestamp for each point: `tokens[i][j]` belongs to `series[i].t[j]` */
  tokens: Timestamp[][];
  format: 'csv' | 'prometheus';
}

/**
 * Parses a timestamp: epoch seconds or milliseconds (a number; above 1e11 it is taken as ms),
 * or an ISO 8601 date. Returns epoch ms, or undefined.
 */
export function parseTimestamp(token: string | number): number | undefined {
  if (typeof token === 'number' || /^-?\d+(\.\d+)?$/.test(token.trim())) {
    const n = Number(token);
    return Math.abs(n) > 1e11 ? n : n * 1000;
  }
  const ms = Date.parse(token.trim());
  return Number.isNaN(ms) ? undefined : ms;
}

function splitCsvLine(line: string): string[] {
  const fields: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quoted) {
      if (c === '"' && line[i + 1] === '"') { field += '"'; i++; }
      else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') { fields.push(field); field = ''; }
    else field += c;
  }
  fields.push(field);
  return fields;
}

/**
 * A series file that cannot be read. `message` says where and what was expected and never quotes
 * the file (a scenario may name any file); `quoted` adds what was seen, for `moat detect` on a
 * file the user gave it directly.
 */
export class SeriesImportError extends InvalidInputError {
  override name = 'SeriesImportError';
  readonly quoted: string;
  constructor(message: string, seen = '') {
    super(message);
    this.quoted = message + seen;
  }
}

/**
 * CSV with rows `timestamp,value[,labels]` (a header row is skipped). Rows with different labels
 * become different series; `labels` is free text such as `route=/transfer;code=500`.
 */
export function parseCsvSeries(text: string, name = 'value'): ImportedSeries {
  const rows = text.split(/\r?\n/).filter((l) => l.trim() !== '');
  const groups = new Map<string, { ms: number[]; v: number[]; tokens: Timestamp[] }>();
  rows.forEach((line, index) => {
    const [timeText = '', valueText = '', labels = ''] = splitCsvLine(line);
    const ms = parseTimestamp(timeText);
    if (ms === undefined) {
      if (index === 0) return; // the header
      throw new SeriesImportError(`line ${index + 1}: expected a timestamp (epoch seconds, ms or ISO 8601)`, `, saw ${JSON.stringify(timeText.slice(0, 40))}`);
    }
    const value = valueText.trim() === '' ? Number.NaN : Number(valueText);
    if (valueText.trim() !== '' && Number.isNaN(value)) throw new SeriesImportError(`line ${index + 1}: expected a number`, `, saw ${JSON.stringify(valueText.slice(0, 40))}`);
    let group = groups.get(labels);
    if (!group) groups.set(labels, (group = { ms: [], v: [], tokens: [] }));
    group.ms.push(ms);
    group.v.push(value);
    group.tokens.push(/^-?\d+(\.\d+)?$/.test(timeText.trim()) ? Number(timeText) : timeText.trim());
  });
  if (groups.size === 0) throw new SeriesImportError('no data rows (expected timestamp,value lines after the header)');
  return assemble([...groups].map(([labels, g]) => ({ name, labels: labels ? parseLabelText(labels) : {}, ...g })), 'csv');
}

function parseLabelText(text: string): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const part of text.split(';')) {
    const [key, ...rest] = part.split('=');
    if (key?.trim()) labels[key.trim()] = rest.join('=').trim();
  }
  return Object.keys(labels).length > 0 ? labels : { labels: text };
}

/** The JSON that Prometheus' /api/v1/query_range returns (resultType matrix). */
export function parsePrometheusSeries(text: string): ImportedSeries {
  let body: { status?: string; data?: { resultType?: string; result?: { metric?: Record<string, string>; values?: [number, string][] }[] } };
  try {
    body = JSON.parse(text) as typeof body;
  } catch {
    throw new SeriesImportError('not valid JSON');
  }
  if (body === null || typeof body !== 'object' || body.status !== 'success' || body.data?.resultType !== 'matrix' || !Array.isArray(body.data.result)) {
    throw new SeriesImportError('expected the JSON of a Prometheus range query: {"status":"success","data":{"resultType":"matrix","result":[...]}}');
  }
  return assemble(body.data.result.map((r, i) => {
    const { __name__: metric, ...labels } = r?.metric ?? {};
    const values = r?.values ?? [];
    if (!Array.isArray(values) || !values.every((p) => Array.isArray(p) && Number.isFinite(Number(p[0])))) {
      throw new SeriesImportError(`data.result[${i}].values: expected [[unix seconds, "value"], ...]`);
    }
    return {
      name: metric ?? 'value', labels,
      ms: values.map(([ts]) => ts * 1000),
      v: values.map(([, v]) => (v === 'NaN' ? Number.NaN : Number(v))),
      tokens: values.map(([ts]) => ts),
    };
  }), 'prometheus');
}

function assemble(groups: { name: string; labels: Record<string, string>; ms: number[]; v: number[]; tokens: Timestamp[] }[], format: ImportedSeries['format']): ImportedSeries {
  if (groups.every((g) => g.ms.length === 0)) throw new SeriesImportError('no data points');
  // a loop, not Math.min(...): a spread of a million points overflows the stack
  let originMs = Number.POSITIVE_INFINITY;
  for (const g of groups) for (const ms of g.ms) if (ms < originMs) originMs = ms;
  const series: Series[] = [];
  const tokens: Timestamp[][] = [];
  for (const g of groups) {
    const order = g.ms.map((_, i) => i).sort((a, b) => g.ms[a]! - g.ms[b]!);
    series.push({ name: g.name, labels: g.labels, t: Float64Array.from(order, (i) => g.ms[i]! - originMs), v: Float64Array.from(order, (i) => g.v[i]!) });
    tokens.push(order.map((i) => g.tokens[i]!));
  }
  return { series, originMs, tokens, format };
}

/** A series file larger than this is refused (a year of 1-minute points is about 15 MB of CSV). */
export const MAX_IMPORT_BYTES = 256 * 1024 * 1024;

/** Reads (a regular file, at most MAX_IMPORT_BYTES) and parses a series file. */
export function readSeriesImport(file: string): ImportedSeries {
  return parseSeriesFile(readRegularFile(file, MAX_IMPORT_BYTES), file);
}

export function parseSeriesFile(text: string, fileName: string): ImportedSeries {
  const trimmed = text.trimStart();
  if (fileName.endsWith('.json') || trimmed.startsWith('{')) return parsePrometheusSeries(text);
  return parseCsvSeries(text);
}
