import { existsSync } from 'node:fs';
import { readRegularFile, writeFileNoFollow } from './files.ts';
import { InvalidJournalError } from './journal-file.ts';
import type { Series } from './series.ts';

/** A series file larger than this is not one moat wrote (a 30-minute, 100-series run's is about 5 MB). */
export const MAX_SERIES_BYTES = 512 * 1024 * 1024;

/**
 * Reads a run's `series.jsonl`: one `{ name, labels, t: [...], v: [...] }` per line, `null` for a
 * missing point. A missing file is no series; a malformed line is an error naming its line.
 */
export function readSeriesFile(file: string): Series[] {
  if (!existsSync(file)) return [];
  return readRegularFile(file, MAX_SERIES_BYTES).split('\n').filter(Boolean).map((line, i) => {
    let raw: { name?: unknown; labels?: unknown; t?: unknown; v?: unknown };
    try {
      raw = JSON.parse(line) as typeof raw;
    } catch {
      throw new InvalidJournalError(`${file}:${i + 1} is not JSON`);
    }
    if (typeof raw.name !== 'string' || raw.labels === null || typeof raw.labels !== 'object' || !Array.isArray(raw.t) || !Array.isArray(raw.v) || raw.t.length !== raw.v.length) {
      throw new InvalidJournalError(`${file}:${i + 1} is not a series (expected {name, labels, t: [...], v: [...]} with as many t as v)`);
    }
    return { name: raw.name, labels: raw.labels as Record<string, string>, t: Float64Array.from(raw.t as number[]), v: Float64Array.from(raw.v as (number | null)[], (v) => (v === null ? Number.NaN : v)) };
  });
}

/** Writes series as `series.jsonl` (NaN as null), the format `readSeriesFile` reads. */
export function writeSeriesFile(file: string, series: Iterable<{ name: string; labels: Record<string, string>; t: ArrayLike<number>; v: ArrayLike<number> }>): void {
  const lines: string[] = [];
  for (const s of series) lines.push(JSON.stringify({ name: s.name, labels: s.labels, t: Array.from(s.t), v: Array.from(s.v, (v) => (Number.isFinite(v) ? v : null)) }));
  writeFileNoFollow(file, lines.join('\n') + (lines.length ? '\n' : ''));
}
