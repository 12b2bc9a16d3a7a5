import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tempDir } from '../core/testing.ts';
import { execFileSync, spawnSync } from 'node:child_process';
import { writeFileSync, readFileSync, readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';

const cli = new URL('./main.ts', import.meta.url).pathname;
const schema = new URL('../reports/schema/junit.xsd', import.meta.url).pathname;

const SHORT = (gates: string) => `name: short-gate
seed: 5
twin: { services: { etcd: { kind: etcd, replicas: 3 } } }
load: [{ name: kv, kind: etcd-kv, target: etcd, rate: 50/s }]
baseline: { warmup: 6s }
faults: [{ id: cut, type: partition, mode: isolate, target: etcd.leader, at: 6s, duration: 5s }]
recovery: 4s
gates:
${gates}
`;

function moat(args: string[], stateDir: string) {
  return spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', env: { ...process.env, MOAT_STATE_DIR: stateDir }, timeout: 240_000 });
}

test('moat gate rejects a gate on a metric that does not exist before anything starts (exit 2)', (t) => {
  const dir = tempDir(t, 'gate');
  writeFileSync(join(dir, 'good.yaml'), SHORT('  lost_writes: ["== 0"]'));
  writeFileSync(join(dir, 'bad.yaml'), SHORT('  write_loss: ["== 0"]'));
  const out = join(dir, 'runs');
  const result = moat(['gate', join(dir, 'good.yaml'), join(dir, 'bad.yaml'), '--out', out], tempDir(t, 'state'));
  assert.equal(result.status, 2);
  assert.match(result.stderr, /bad\.yaml:9 gates\.write_loss: unknown metric "write_loss"/);
  assert.equal(existsSync(out), false, 'no run started, not even for the valid file');
});

test('moat gate runs the scenario, exits 1 on a failed gate and writes valid JUnit', { timeout: 240_000 }, async (t) => {
  const dir = tempDir(t, 'gate');
  // a TTD under 1 ms is impossible: that gate must fail; the others must pass
  writeFileSync(join(dir, 'short.yaml'), SHORT('  lost_writes: ["== 0"]\n  ttd_ms: ["max < 1"]\n  availability: [">= 50%"]'));
  const junit = join(dir, 'junit.xml');
  const out = join(dir, 'runs');
  const result = moat(['gate', join(dir, 'short.yaml'), '--junit', junit, '--out', out], tempDir(t, 'state'));
  assert.equal(result.status, 1, result.stdout + result.stderr);
  assert.match(result.stdout, /short-gate: completed, FAILED/);
  assert.match(result.stdout, /FAIL {2}ttd_ms max < 1: /);
  assert.match(result.stdout, /pass {2}lost_writes == 0: 0 over 1 value/);
  execFileSync('xmllint', ['--noout', '--schema', schema, junit], { stdio: 'pipe' });
  const xml = readFileSync(junit, 'utf8');
  assert.match(xml, /<testcase classname="moat.short-gate.gates" name="ttd_ms max &lt; 1" time="0.000">\s*<failure/);
  assert.match(xml, /<testcase classname="moat.short-gate.gates" name="lost_writes == 0" time="0.000"\/>/);
  const [runDir] = readdirSync(out);
  for (const file of ['report.html', 'junit.xml', 'summary.md', 'chaostoolkit-journal.json', 'series.csv']) {
    assert.ok(existsSync(join(out, runDir!, file)), file);
  }
});
