import { createHash } from 'node:crypto';
import { writeFileSync, existsSync } from 'node:fs';
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
  if (!existsSync(join(dir, 'journal.json'))) throw new Error(`${runDir} has no journal.json: not a run folder`);
  const files = listEvidence(dir, [MANIFEST]);
  writeFileSync(join(dir, MANIFEST), files.map((f) => `${f.sha256}  ${f.path}\n`).join(''));
  const top = basename(dir);
  await tar.c({ gzip: true, file: outFile, cwd: dirname(dir), portable: true }, [...files.map((f) => `${top}/${f.path}`), `${top}/${MANIFEST}`]);
  return { file: outFile, files: files.length };
}

export interface BundleCheck {
  ok: boolean;
  files: number;
  problems: string[];
}

/** Checks a bundle: every file listed in the manifest is present with its digest, and nothing else is. */
export async function verifyBundle(file: string): Promise<BundleCheck> {
  const digests = new Map<string, string>();
  const pending: Promise<void>[] = [];
  let manifest: string | undefined;
  await tar.t({
    file,
    onReadEntry: (entry) => {
      if (entry.type !== 'File') {
        entry.resume();
        return;
      }
      const path = entry.path.split('/').slice(1).join('/');
      const hash = createHash('sha256');
      const chunks: Buffer[] = [];
      pending.push(new Promise((done) => {
        entry.on('data', (chunk: Buffer) => {
          hash.update(chunk);
          if (path === MANIFEST) chunks.push(chunk);
        });
        entry.on('end', () => {
          if (path === MANIFEST) manifest = Buffer.concat(chunks).toString('utf8');
          else digests.set(path, hash.digest('hex'));
          done();
        });
      }));
    },
  });
  await Promise.all(pending);
  const problems: string[] = [];
  if (manifest === undefined) return { ok: false, files: digests.size, problems: [`no ${MANIFEST} in the bundle`] };
  const listed = new Map<string, string>();
  for (const line of manifest.split('\n').filter(Boolean)) {
    const match = /^([0-9a-f]{64}) {2}(.+)$/.exec(line);
    if (!match) {
      problems.push(`malformed manifest line: ${JSON.stringify(line)}`);
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
