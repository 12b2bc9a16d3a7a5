import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync, readFileSync, readdirSync, symlinkSync, linkSync, truncateSync, statSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { basename, join } from 'node:path';
import { tempDir } from '../core/testing.ts';
import * as tar from 'tar';
import { writeBundle, verifyBundle, writeReports } from './index.ts';
import { fixtureRun } from './testing.ts';

test('a bundle carries every file with a sha256 manifest, and verification catches tampering', async (t) => {
  const { dir } = fixtureRun(t);
  mkdtempSync(join(dir, 'logs-')); // an empty folder is not a file and is not listed
  writeFileSync(join(dir, 'etcd-1.log'), 'log line\n');
  writeReports(dir);
  const out = join(tempDir(t, 'bundle'), 'run.tar.gz');
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
  const unpacked = tempDir(t, 'unpacked');
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

/** A bundle made by GNU tar from a folder laid out by `build`, so that hostile entries can be packed. */
function hostileBundle(base: string, name: string, build: (top: string) => void, extra: string[] = []): string {
  const root = join(base, name);
  const top = join(root, 'run');
  mkdirSync(top, { recursive: true });
  writeFileSync(join(top, 'journal.json'), '{}');
  build(top);
  const sums = execFileSync('bash', ['-c', 'find . -type f ! -name SHA256SUMS | sed "s|^./||" | sort | xargs -r sha256sum'], { cwd: top, encoding: 'utf8' });
  writeFileSync(join(top, 'SHA256SUMS'), sums);
  const file = join(base, `${name}.tar.gz`);
  execFileSync('tar', ['-czf', file, '-C', root, 'run', ...extra], { stdio: 'pipe' });
  return file;
}

test('verify-bundle refuses links, paths outside the top folder, two top folders and a truncated archive', async (t) => {
  const base = tempDir(t, 'hostile');
  const outside = join(base, 'outside.txt');
  writeFileSync(outside, 'secret\n');
  const cases: [string, string, RegExp][] = [
    ['file-link', hostileBundle(base, 'file-link', (top) => symlinkSync('/etc/passwd', join(top, 'summary.md'))), /not a regular file or folder: "run\/summary\.md" \(SymbolicLink -> "\/etc\/passwd"\)/],
    ['folder-link', hostileBundle(base, 'folder-link', (top) => symlinkSync('/etc', join(top, 'logs'))), /not a regular file or folder: "run\/logs" \(SymbolicLink -> "\/etc"\)/],
    ['hard-link', hostileBundle(base, 'hard-link', (top) => {
      writeFileSync(join(top, 'a.log'), 'x');
      linkSync(join(top, 'a.log'), join(top, 'b.log'));
    }), /not a regular file or folder: "run\/[ab]\.log" \(Link/],
    ['absolute', hostileBundle(base, 'absolute', () => undefined, ['--absolute-names', outside]), /unsafe path: ".*outside\.txt"/],
    ['two-tops', hostileBundle(base, 'two-tops', () => mkdirSync(join(base, 'two-tops', 'other')), ['other']), /expected one top folder, saw 2 \(run, other\)/],
  ];
  for (const [name, file, expected] of cases) {
    const check = await verifyBundle(file);
    assert.equal(check.ok, false, name);
    assert.ok(check.problems.some((p) => expected.test(p)), `${name}: ${check.problems.join('; ')}`);
  }
  // `..` inside an entry name, written with tar's --transform
  const dotdot = join(base, 'dotdot.tar.gz');
  execFileSync('tar', ['-czf', dotdot, '-C', join(base, 'two-tops'), '--transform', 's|^run/journal.json|run/../../escape.json|', 'run'], { stdio: 'pipe' });
  assert.ok((await verifyBundle(dotdot)).problems.some((p) => /unsafe path: "run\/\.\.\/\.\.\/escape\.json"/.test(p)));
  // a truncated archive does not verify, with one clear line
  const truncated = join(base, 'truncated.tar.gz');
  writeFileSync(truncated, readFileSync(cases[0]![1]));
  truncateSync(truncated, Math.floor(statSync(truncated).size / 2));
  const check = await verifyBundle(truncated);
  assert.equal(check.ok, false);
  assert.equal(check.problems.length, 1);
  assert.match(check.problems[0]!, /^cannot read the bundle: /);
});

test('moat bundle archives only regular files inside the run folder; a link loop does not stop it', async (t) => {
  const { dir } = fixtureRun(t);
  const secret = tempDir(t, 'secret');
  writeFileSync(join(secret, 'key.pem'), 'PRIVATE KEY\n');
  symlinkSync(secret, join(dir, 'linked'));
  symlinkSync(join(secret, 'key.pem'), join(dir, 'key.pem'));
  symlinkSync(join(dir, 'loop'), join(dir, 'loop'));
  const out = join(tempDir(t, 'bundle'), 'run.tar.gz');
  await writeBundle(dir, out);
  const listed: string[] = [];
  await tar.t({ file: out, onReadEntry: (e) => { listed.push(e.path); e.resume(); } });
  assert.deepEqual(listed.filter((p) => /linked|key\.pem|loop/.test(p)), []);
  assert.equal((await verifyBundle(out)).ok, true);
});

test('moat report refuses to write through a symbolic link or a hard link in the run folder', (t) => {
  for (const kind of ['symbolic', 'hard'] as const) {
    const { dir } = fixtureRun(t);
    const target = join(tempDir(t, 'target'), 'precious.txt');
    writeFileSync(target, 'precious\n');
    if (kind === 'symbolic') symlinkSync(target, join(dir, 'summary.md'));
    else linkSync(target, join(dir, 'summary.md'));
    assert.throws(() => writeReports(dir), kind === 'symbolic' ? /summary\.md is a symbolic link: refusing to write through it/ : /summary\.md has 2 hard links: refusing to write to it/);
    assert.equal(readFileSync(target, 'utf8'), 'precious\n', `the ${kind} link's target is untouched`);
  }
});
