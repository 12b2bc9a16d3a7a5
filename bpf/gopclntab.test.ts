import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tempDir } from '../core/testing.ts';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { goFunctions } from './gopclntab.ts';

const RUNTIME = ['runtime.gcStart', 'runtime.gcMarkDone', 'runtime.mallocgc', 'runtime.newproc1', 'main.main'];

test('function addresses from .gopclntab match `go tool nm` on a Go binary built here with symbols', { timeout: 300_000 }, (t) => {
  const binary = join(tempDir(t, 'gopclntab'), 'otel-go');
  execFileSync('go', ['build', '-o', binary, '.'], { cwd: new URL('../observe/testdata/otel-go/', import.meta.url).pathname, stdio: 'pipe', timeout: 280_000 });
  const truth = new Map<string, number>();
  for (const line of execFileSync('go', ['tool', 'nm', binary], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 }).split('\n')) {
    const match = /^\s*([0-9a-f]+) T (\S+)$/.exec(line);
    if (match) truth.set(match[2]!, parseInt(match[1]!, 16));
  }
  const ours = goFunctions(binary);
  let same = 0;
  const different: string[] = [];
  for (const fn of ours) {
    const expected = truth.get(fn.name);
    if (expected === undefined) continue;
    if (fn.address === expected) same++;
    else different.push(fn.name);
  }
  // A few dozen assembly functions differ: the symbol table names their ABI0 body, the runtime
  // table their ABIInternal wrapper of the same name. Every Go function agrees.
  assert.ok(same > 10_000, `agreeing functions: ${same}`);
  assert.ok(different.length / (same + different.length) < 0.005, `${different.length} differ: ${different.slice(0, 10).join(', ')}`);
  const wanted = goFunctions(binary, new Set(RUNTIME));
  for (const fn of wanted) assert.equal(fn.address, truth.get(fn.name), fn.name);
  assert.deepEqual(wanted.map((f) => f.name).sort(), [...RUNTIME].sort());
  assert.ok(wanted.every((f) => f.fileOffset > 0 && f.fileOffset < f.address));
});

test("Debian's stripped etcd still yields the runtime functions moat probes", () => {
  const found = goFunctions('/usr/bin/etcd', new Set(RUNTIME));
  assert.deepEqual(found.map((f) => f.name).sort(), [...RUNTIME].sort());
  assert.throws(() => goFunctions('/bin/sh'), /has no .gopclntab section/);
});
