import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../core/testing.ts';

const cli = new URL('./main.ts', import.meta.url).pathname;
const fixture = new URL('../reports/fixtures/etcd-split-brain/journal.json', import.meta.url).pathname;

function moat(args: string[]): { status: number | null; stdout: string; stderr: string } {
  return spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 60_000 });
}

/** Bad input is exit 2 (or 1 for a bundle that does not verify) with one clear line, never a stack trace. */
function assertClear(result: ReturnType<typeof moat>, status: number, message: RegExp): void {
  assert.equal(result.status, status, result.stdout + result.stderr);
  const text = (result.stderr + result.stdout).trim();
  assert.match(text, message);
  assert.doesNotMatch(text, /\n\s+at |unexpected error/, 'no stack trace');
}

test('bad input to detect, report, bundle and verify-bundle: exit 2 (1 for a bundle that does not verify), one clear line', { timeout: 120_000 }, (t) => {
  const dir = tempDir(t, 'bad-input');
  writeFileSync(join(dir, 'header.csv'), 'timestamp,value\n');
  writeFileSync(join(dir, 'words.csv'), 'timestamp,value\nsoon,1\nlater,2\n');
  assertClear(moat(['detect', join(dir, 'header.csv')]), 2, /header\.csv: no data rows/);
  assertClear(moat(['detect', join(dir, 'words.csv')]), 2, /words\.csv: line 2: expected a timestamp \(epoch seconds, ms or ISO 8601\), saw "soon"/);
  assertClear(moat(['detect', '/dev/zero']), 2, /^moat: \/dev\/zero is not a regular file$/);
  assertClear(moat(['verify-bundle', join(dir, 'missing.tar.gz')]), 2, /is not a file/);

  const journal = JSON.parse(readFileSync(fixture, 'utf8')) as Record<string, unknown>;
  const runDir = (name: string, change: (j: Record<string, unknown>) => void) => {
    const path = join(dir, name);
    mkdirSync(path);
    const copy = structuredClone(journal);
    change(copy);
    writeFileSync(join(path, 'journal.json'), JSON.stringify(copy));
    return path;
  };
  assertClear(moat(['report', runDir('wrong-types', (j) => { j.faults = 'none'; j.seed = 'x'; })]), 2, /journal\.json is not a moat journal: seed: .*faults: /);
  assertClear(moat(['report', runDir('outside', (j) => { j.series = { file: '../../etc/passwd', count: 1, watched: [] }; })]), 2, /series\.file "\.\.\/\.\.\/etc\/passwd" is outside the run folder/);
  assertClear(moat(['report', '--markdown', runDir('not-json', () => undefined).replace('not-json', 'missing')]), 2, /has no journal\.json/);

  // a truncated bundle does not verify: exit 1 and one line saying so
  const good = runDir('good', () => undefined);
  writeFileSync(join(good, 'series.jsonl'), '');
  const bundle = join(dir, 'good.tar.gz');
  assert.equal(moat(['bundle', good, '--out', bundle]).status, 0);
  writeFileSync(bundle, readFileSync(bundle).subarray(0, 200));
  const truncated = moat(['verify-bundle', bundle]);
  assert.equal(truncated.status, 1);
  assert.match(truncated.stdout, /^FAIL {2}cannot read the bundle: .*\n1 problem in /);
});
