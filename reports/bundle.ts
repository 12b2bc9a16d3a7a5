import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { writeFileNoFollow } from '../core/files.ts';
import { InvalidJournalError } from '../core/journal-file.ts';
import { basename, dirname, join, resolve } from 'node:path';
import * as tar from 'tar';
import { listEvidence } from './inputs.ts';

export const MANIFEST = 'SHA256SUMS';

/**
 * Packs a run folder into one .tar.gz evidence bundle under a top folder named after the run:
 * the journal, the series (JSON lines and CSV), process logs, acknowledged-write logs, bpf and
 * OpenTelemetry output when present, every report, and a `SHA256SUMS` manifest in
 * `sha256sum -c` format covering every other file.
 */
export async function writeBundle(runDir: string, outFile: string): Promise<{ file: string; files: number }> {
  const dir = resolve(runDir);
  if (!existsSync(join(dir, 'journal.json'))) throw new InvalidJournalError(`${runDir} has no journal.json: not a run folder`);
  // regular files only: a link in the run folder (to a file, a folder, or itself) is not evidence
  const files = listEvidence(dir, [MANIFEST]);
  writeFileNoFollow(join(dir, MANIFEST), files.map((f) => `${f.sha256}  ${f.path}\n`).join(''));
  const top = basename(dir);
  await tar.c({ gzip: true, file: outFile, cwd: dirname(dir), portable: true }, [...files.map((f) => `${top}/${f.path}`), `${top}/${MANIFEST}`]);
  return { file: outFile, files: files.length };
}

export interface BundleCheck {
  ok: boolean;
  files: number;
  problems: string[];
}

/**
 * Checks a bundle: one top folder; every entry a regular file or a folder inside it (no links,
 * devices, absolute paths or `..`); every file listed in the manifest with its digest, and
 * nothing else. A bundle that cannot be read at all (truncated, not gzip) does not verify.
 */
export async function verifyBundle(file: string): Promise<BundleCheck> {
  const digests = new Map<string, string>();
  const pending: Promise<void>[] = [];
  const problems: string[] = [];
  const tops = new Set<string>();
  let manifest: string | undefined;
  try {
    await tar.t({
      file,
      strict: true,
      // keep paths exactly as written, so an absolute or `..` path is seen and refused here
      preservePaths: true,
      onReadEntry: (entry) => {
        const path = entry.path;
        const segments = path.split('/').filter((s) => s !== '' && s !== '.');
        const unsafe = path.startsWith('/') || /^[A-Za-z]:/.test(path) || segments.includes('..');
        if (unsafe) problems.push(`unsafe path: ${JSON.stringify(path)}`);
        if (segments[0] !== undefined) tops.add(segments[0]);
        if (entry.type !== 'File' && entry.type !== 'OldFile' && entry.type !== 'Directory') {
          problems.push(`not a regular file or folder: ${JSON.stringify(path)} (${entry.type}${entry.linkpath ? ` -> ${JSON.stringify(entry.linkpath)}` : ''})`);
        }
        if (unsafe || (entry.type !== 'File' && entry.type !== 'OldFile') || segments.length < 2) {
          entry.resume();
          return;
        }
        const inner = segments.slice(1).join('/');
        const hash = createHash('sha256');
        const chunks: Buffer[] = [];
        pending.push(new Promise((done) => {
          entry.on('data', (chunk: Buffer) => {
            hash.update(chunk);
            if (inner === MANIFEST && segments.length === 2) chunks.push(chunk);
          });
          entry.on('end', () => {
            if (inner === MANIFEST && segments.length === 2) manifest = Buffer.concat(chunks).toString('utf8');
            else if (digests.has(inner)) problems.push(`listed twice in the archive: ${inner}`);
            else digests.set(inner, hash.digest('hex'));
            done();
          });
        }));
      },
    });
    await Promise.all(pending);
  } catch (error) {
    return { ok: false, files: digests.size, problems: [`cannot read the bundle: ${(error as Error).message}`] };
  }
  if (tops.size !== 1) problems.push(`expected one top folder, saw ${tops.size}${tops.size > 1 ? ` (${[...tops].slice(0, 5).join(', ')})` : ''}`);
  if (manifest === undefined) return { ok: false, files: digests.size, problems: [...problems, `no ${MANIFEST} in the bundle`] };
  const listed = new Map<string, string>();
  for (const line of manifest.split('\n').filter(Boolean)) {
    const match = /^([0-9a-f]{64}) {2}(.+)$/.exec(line);
    if (!match) {
      problems.push(`malformed manifest line: ${JSON.stringify(line.slice(0, 200))}`);
      continue;
    }
    listed.set(match[2]!, match[1]!);
  }
  for (const [path, digest] of listed) {
    const actual = digests.get(path);
    if (actual === undefined) problems.push(`missing: ${path}`);
    else if (actual !== digest) problems.push(`sha256 mismatch: ${path} (manifest ${digest.slice(0, 12)}…, file ${actual.slice(0, 12)}…)`);
  }
  for (const path of digests.keys()) if (!listed.has(path)) problems.push(`not in the manifest: ${path}`);
  return { ok: problems.length === 0, files: digests.size, problems };
}
