import { createHash } from 'node:crypto';
import { closeSync, constants, existsSync, lstatSync, openSync, readdirSync, readSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { Journal } from '../core/journal.ts';
import type { Series } from '../core/series.ts';
import { InvalidJournalError, readJournal } from '../core/journal-file.ts';
import { isInside } from '../core/files.ts';
import { readSeriesFile } from '../core/series-file.ts';
import { PROFILE_FILE, readProfileFile, type ProfileSample } from '../core/profile.ts';

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
  /** the profile probe's on-CPU samples, when the run had it */
  profile?: ProfileSample[];
}

/** The sha256 of a regular file, read without following a link. */
export function sha256File(file: string): string {
  const hash = createHash('sha256');
  const fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  try {
    const buffer = Buffer.alloc(1 << 20);
    for (let read; (read = readSync(fd, buffer, 0, buffer.length, null)) > 0;) hash.update(buffer.subarray(0, read));
  } finally {
    closeSync(fd);
  }
  return hash.digest('hex');
}

/**
 * Every regular file under the run folder except the ones named, sorted by path. Symbolic links
 * (to files or folders) and anything that is not a regular file are left out: the evidence is
 * what the run folder itself holds, never what a link points at.
 */
export function listEvidence(runDir: string, exclude: readonly string[] = []): EvidenceFile[] {
  const files: EvidenceFile[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir).sort()) {
      const full = join(dir, name);
      const stat = lstatSync(full);
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
  const journal = readJournal(runDir);
  if (!isInside(runDir, journal.series.file)) throw new InvalidJournalError(`${join(runDir, 'journal.json')}: series.file ${JSON.stringify(journal.series.file)} is outside the run folder`);
  const profileFile = join(runDir, PROFILE_FILE);
  const profile = journal.bpf.profile && existsSync(profileFile) ? readProfileFile(profileFile) : [];
  return { journal, series: readSeriesFile(join(runDir, journal.series.file)), evidence: listEvidence(runDir, exclude), profile };
}
