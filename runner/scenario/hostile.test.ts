import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { InvalidScenarioError } from '../../core/errors.ts';
import { tempDir } from '../../core/testing.ts';
import { parseScenario, loadScenarioFile, GATE_METRICS } from './index.ts';

const base = (extra: string, services = 'etcd: { kind: etcd }') => `name: x
twin: { services: { ${services} } }
baseline: { warmup: 1s }
faults: [{ id: f, type: partition, mode: isolate, target: etcd.leader, at: 1s, duration: 1s }]
${extra}`;

function problems(text: string, options = {}): string[] {
  try {
    parseScenario(text, 'hostile.yaml', options);
  } catch (error) {
    assert.ok(error instanceof InvalidScenarioError, `an InvalidScenarioError, not ${(error as Error).name}: ${(error as Error).message}`);
    return error.problems.map((p) => `${p.line ?? '-'} ${p.path}: ${p.message}`);
  }
  return [];
}

test('durations longer than a timer can wait, and Infinity, are refused', () => {
  assert.deepEqual(problems(base('recovery: 30d')), ['5 recovery: expected at most 2147483647 ms (about 24.8 days, the longest a timer waits), saw "30d"']);
  assert.match(problems(base(`recovery: ${'9'.repeat(400)}s`))[0]!, /^5 recovery: expected at most 2147483647 ms/);
});

test('names of Object.prototype members are neither gates nor toxic attributes, and __proto__ is no key', () => {
  assert.deepEqual(problems(base('gates: { toString: ["== 0"], constructor: ["== 0"] }')), [
    `5 gates.toString: unknown metric "toString" (expected one of ${Object.keys(GATE_METRICS).join(', ')})`,
    `5 gates.constructor: unknown metric "constructor" (expected one of ${Object.keys(GATE_METRICS).join(', ')})`,
  ]);
  assert.deepEqual(problems(base('gates: { __proto__: ["== 0"] }')), ['5 : the key "__proto__" is not allowed']);
  const ledger = `etcd: { kind: etcd }, redis: { kind: redis }, app: { kind: app, app: ledger, links: [redis, etcd] }`;
  const toxic = `faults: [{ id: f, type: toxic, link: app->redis, toxic: latency, attributes: { latency: 1, constructor: 2, toString: 3 }, at: 1s, duration: 1s }]`;
  const text = base('', ledger).replace(/faults: .*\n/, toxic + '\n');
  assert.deepEqual(problems(text), [
    '4 faults[0].attributes.constructor: the latency toxic has no attribute "constructor" (it takes: latency, jitter)',
    '4 faults[0].attributes.toString: the latency toxic has no attribute "toString" (it takes: latency, jitter)',
  ]);
});

test('YAML alias bombs and unresolved aliases are refused with the file name, as input errors', () => {
  const bomb = ['a: &a ["x","x","x","x","x","x","x","x","x"]', ...'bcdefg'.split('').map((k, i) => `${k}: &${k} [${Array(9).fill(`*${'abcdefg'[i]}`).join(',')}]`)].join('\n');
  assert.deepEqual(problems(bomb), ['- : YAML aliases: Excessive alias count indicates a resource exhaustion attack']);
  assert.deepEqual(problems(base('recovery: *nothing')), ['- : YAML aliases: Unresolved alias (the anchor must be set before the alias): nothing']);
});

test('scenario size, host count and absurd rates have limits', () => {
  assert.match(problems('#' + 'x'.repeat(1024 * 1024))[0]!, /^- : the scenario has 1048577 characters, more than the limit of 1048576$/);
  const many = Array.from({ length: 30 }, (_, i) => `s${i}: { kind: etcd, replicas: 7 }`).join(', ');
  assert.ok(problems(base('', `etcd: { kind: etcd }, ${many}`)).includes('2 twin.services: a netns twin holds at most 200 hosts, and these services need 213'));
  assert.deepEqual(problems(base('load: [{ name: kv, kind: etcd-kv, target: etcd, rate: 999999999999/s }]')), ['5 load[0].rate: expected at most 100000/s, saw "999999999999/s"']);
});

test('files a scenario names: in its folder only, regular files only, capped, never quoted in errors', async (t) => {
  const dir = tempDir(t, 'named-files');
  mkdirSync(join(dir, 'data'));
  writeFileSync(join(dir, 'data', 'ok.csv'), 'timestamp,value\n' + Array.from({ length: 10 }, (_, i) => `${1_700_000_000 + 60 * i},${i}`).join('\n') + '\n');
  writeFileSync(join(dir, 'data', 'secret.csv'), 'timestamp,value\nroot:x:0:0:root:/root:/bin/bash,1\n');
  execFileSync('mkfifo', [join(dir, 'data', 'fifo.csv')]);
  const importing = (file: string) => base('').replace('baseline: { warmup: 1s }', `baseline: { warmup: 1s, import: [{ file: "${file}", series: load_requests_per_sec }] }`);
  const scenario = (file: string) => {
    const path = join(dir, 'scenario.yaml');
    writeFileSync(path, importing(file));
    return loadScenarioFile(path).then(() => [], (error: unknown) => (error as InvalidScenarioError).problems.map((p) => `${p.path}: ${p.message}`));
  };
  assert.deepEqual(await scenario('data/ok.csv'), []);
  assert.deepEqual(await scenario('/etc/passwd'), ['baseline.import[0].file: expected a file in the scenario\'s folder or below it, saw "/etc/passwd" (pass --allow-outside-paths to read files elsewhere)']);
  assert.deepEqual(await scenario('../../../etc/passwd'), ['baseline.import[0].file: expected a file in the scenario\'s folder or below it, saw "../../../etc/passwd" (pass --allow-outside-paths to read files elsewhere)']);
  assert.deepEqual(problems(importing('/dev/zero'), { allowOutsidePaths: true }), ['3 baseline.import[0].file: cannot use /dev/zero: /dev/zero is not a regular file']);
  const fifo = await scenario('data/fifo.csv');
  assert.match(fifo[0]!, /^baseline\.import\[0\]\.file: cannot use data\/fifo\.csv: .*fifo\.csv is not a regular file$/);
  const secret = await scenario('data/secret.csv');
  assert.deepEqual(secret, ['baseline.import[0].file: cannot use data/secret.csv: line 2: expected a timestamp (epoch seconds, ms or ISO 8601)']);
  assert.doesNotMatch(secret.join(''), /root/, 'no content of the file in the error');
  // the scenario itself must be a regular file too
  await assert.rejects(loadScenarioFile('/dev/zero'), /cannot read the scenario: \/dev\/zero is not a regular file/);
});
