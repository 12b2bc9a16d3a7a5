import { createHash } from 'node:crypto';
import { readFileSync, readdirSync, statSync, existsSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { Journal } from '../core/journal.ts';
import type { Series } from '../core/series.ts';

/** A file of the run folder, with its digest, for the evidence list and the bundle manifest. */
export interface EvidenceFile {
  path: string;
  bytes: number;
  sha256: string;
}

/** Everything a report is rendered from: the journal, its series, and the run folder's files. */
export interface ReportInputs {
  journal: Journal;
  series: Series[];
  evidence: EvidenceFile[];
}

export function readSeriesFile(file: string): Series[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8').split('\n').filter(Boolean).map((line) => {
    const raw = JSON.parse(line) as { name: string; labels: Record<string, string>; t: number[]; v: (number | null)[] };
    return { name: raw.name, labels: raw.labels, t: Float64Array.from(raw.t), v: Float64Array.from(raw.v, (v) => (v === null ? Number.NaN : v)) };
  });
}

export function sha256File(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

/** Every file under the run folder except the ones named, sorted by path. */
export function listEvidence(runDir: string, exclude: readonly string[] = []): EvidenceFile[] {
  const files: EvidenceFile[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir).sort()) {
      const full = join(dir, name);
      const stat = statSync(full);
      if (stat.isDirectory()) walk(full);
      else if (stat.isFile()) {
        const path = relative(runDir, full);
        if (!exclude.includes(path)) files.push({ path, bytes: stat.size, sha256: sha256File(full) });
      }
    }
  };
  walk(runDir);
  return files;
}

export function loadReportInputs(runDir: string, exclude: readonly string[] = []): ReportInputs {
  const journal = JSON.parse(readFileSync(join(runDir, 'journal.json'), 'utf8')) as Journal;
  return { journal, series: readSeriesFile(join(runDir, journal.series.file)), evidence: listEvidence(runDir, exclude) };
}
