import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import * as tar from 'tar';
import { writeBundle, verifyBundle, writeReports } from './index.ts';
import { fixtureRun } from './testing.ts';

test('a bundle carries every file with a sha256 manifest, and verification catches tampering', async () => {
  const { dir } = fixtureRun();
  mkdtempSync(join(dir, 'logs-')); // an empty folder is not a file and is not listed
  writeFileSync(join(dir, 'etcd-1.log'), 'log line\n');
  writeReports(dir);
  const out = join(mkdtempSync(join(tmpdir(), 'moat-bundle-')), 'run.tar.gz');
  const { files } = await writeBundle(dir, out);
  const listed: string[] = [];
  await tar.t({ file: out, onReadEntry: (e) => { listed.push(e.path); e.resume(); } });
  const top = basename(dir);
  for (const name of ['journal.json', 'series.jsonl', 'series.csv', 'report.html', 'summary.md', 'junit.xml', 'chaostoolkit-journal.json', 'etcd-1.log', 'SHA256SUMS']) {
    assert.ok(listed.includes(`${top}/${name}`), `${name} in ${listed.join(', ')}`);
  }
  assert.equal(files, listed.length - 1);
  assert.deepEqual(await verifyBundle(out), { ok: true, files, problems: [] });

  // change one byte of the journal, add a file, drop another: repack without touching the manifest
  const unpacked = mkdtempSync(join(tmpdir(), 'moat-unpacked-'));
  await tar.x({ file: out, cwd: unpacked });
  const journal = join(unpacked, top, 'journal.json');
  writeFileSync(journal, readFileSync(journal, 'utf8').replace('"completed"', '"complete!"'));
  writeFileSync(join(unpacked, top, 'extra.txt'), 'x');
  const kept = readdirSync(join(unpacked, top)).filter((f) => f !== 'summary.md').map((f) => `${top}/${f}`);
  const tampered = join(unpacked, 'tampered.tar.gz');
  await tar.c({ gzip: true, file: tampered, cwd: unpacked }, kept);
  const check = await verifyBundle(tampered);
  assert.equal(check.ok, false);
  assert.deepEqual(check.problems.map((p) => p.replace(/\(.*\)/, '(…)')).sort(), ['missing: summary.md', 'not in the manifest: extra.txt', 'sha256 mismatch: journal.json (…)']);
});
