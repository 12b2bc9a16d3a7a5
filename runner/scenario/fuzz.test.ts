import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isMap, isScalar, isSeq, parseDocument, visit, type Document, type Node as YamlNode } from 'yaml';
import { InvalidScenarioError } from '../../core/errors.ts';
import { SeededRandom } from '../../core/random.ts';
import { tempDir } from '../../core/testing.ts';
import { parseScenario } from './index.ts';
import { checkEnvironment, describePlan, runLengthMs } from '../run.ts';

const library = new URL('../../scenarios/', import.meta.url).pathname;
const cli = new URL('../../cli/main.ts', import.meta.url).pathname;
const SEED = 20261203;
const CASES = 400;

/** Values that have broken parsers before: wrong types, extremes, unicode, prototype names. */
const HOSTILE_VALUES: unknown[] = [
  null, true, -1, 0, 1e308, -1e308, 2 ** 31, 2 ** 53 + 1, '99999999999999999999999999s', 'Infinity', 'NaN', '-0s', '1e400/s',
  [], {}, [[[]]], { kind: 'etcd' }, '', ' ', 'x'.repeat(100_000), '\u0000', '\u202e\u200f', '😀'.repeat(50), '\ud800',
  '__proto__', 'constructor', 'toString', '${HOME}', '${NOPE_NOT_SET}', '../../../etc/passwd', '/dev/zero', '*alias',
];
const HOSTILE_KEYS = ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf', 'x'.repeat(10_000), '😀', ''];

type Mutation = (document: Document, random: SeededRandom) => void;

/** Every node of the document that holds a value, with the map or list it sits in. */
function slots(document: Document): { parent: YamlNode; key: unknown }[] {
  const found: { parent: YamlNode; key: unknown }[] = [];
  visit(document, {
    Map(_, map) { for (const pair of map.items) found.push({ parent: map, key: isScalar(pair.key) ? pair.key.value : pair.key }); },
    Seq(_, seq) { seq.items.forEach((_item, i) => found.push({ parent: seq, key: i })); },
  });
  return found;
}

function pick<T>(random: SeededRandom, list: readonly T[]): T {
  return list[Math.floor(random.next() * list.length)]!;
}

const mutations: Record<string, Mutation> = {
  'replace a value': (document, random) => {
    const slot = pick(random, slots(document));
    if (slot && (isMap(slot.parent) || isSeq(slot.parent))) slot.parent.set(slot.key, document.createNode(pick(random, HOSTILE_VALUES)));
  },
  'add a key': (document, random) => {
    const maps = slots(document).map((s) => s.parent).filter(isMap);
    const map = maps.length > 0 ? pick(random, maps) : undefined;
    map?.set(pick(random, HOSTILE_KEYS), document.createNode(pick(random, HOSTILE_VALUES)));
  },
  'delete a key': (document, random) => {
    const slot = pick(random, slots(document));
    if (slot && (isMap(slot.parent) || isSeq(slot.parent))) slot.parent.delete(slot.key);
  },
  'swap two values': (document, random) => {
    const all = slots(document).filter((s) => isMap(s.parent) || isSeq(s.parent));
    const a = pick(random, all);
    const b = pick(random, all);
    if (!a || !b || !(isMap(a.parent) || isSeq(a.parent)) || !(isMap(b.parent) || isSeq(b.parent))) return;
    const va = a.parent.get(a.key, true);
    const vb = b.parent.get(b.key, true);
    a.parent.set(a.key, vb);
    b.parent.set(b.key, va);
  },
};

/** Text-level mutations: what a structural edit cannot write (aliases, duplicate keys, broken YAML). */
const textMutations: Record<string, (text: string, random: SeededRandom) => string> = {
  'duplicate a line': (text, random) => {
    const lines = text.split('\n');
    const i = Math.floor(random.next() * lines.length);
    lines.splice(i, 0, lines[i]!);
    return lines.join('\n');
  },
  'cut the file short': (text, random) => text.slice(0, Math.floor(random.next() * text.length)),
  'anchor and alias': (text) => text.replace(/^twin:/m, 'twin: &t').replace(/^recovery:.*$/m, '') + '\nrecovery: *t\n',
  'an alias bomb': (text) => `${text}\nx: &a [1,1,1,1,1,1,1,1,1,1]\ny: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\nz: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\nw: [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\n`,
  'an unresolved alias': (text) => text.replace(/^recovery:.*$/m, 'recovery: *nowhere'),
  'a tab and a stray quote': (text, random) => {
    const i = Math.floor(random.next() * text.length);
    return `${text.slice(0, i)}\t"${text.slice(i)}`;
  },
};

/** What the CLI would exit with: 0 valid (and its plan prints), 2 rejected with a clear error, 3 anything else. */
function classify(text: string, file: string): { code: 0 | 2 | 3; detail: string } {
  try {
    const scenario = parseScenario(text, file);
    describePlan(scenario);
    runLengthMs(scenario);
    checkEnvironment(scenario, file, {});
    return { code: 0, detail: 'valid' };
  } catch (error) {
    if (error instanceof InvalidScenarioError && error.message.startsWith(file)) return { code: 2, detail: error.message.split('\n')[1] ?? '' };
    return { code: 3, detail: (error as Error).stack ?? String(error) };
  }
}

test(`a seeded fuzzer (${CASES} mutated library scenarios) never gets more than a clear rejection`, { timeout: 300_000 }, () => {
  const random = new SeededRandom(SEED);
  const sources = readdirSync(library).filter((f) => f.endsWith('.yaml') && !f.endsWith('.schedule.yaml')).sort().map((f) => ({ name: f, text: readFileSync(join(library, f), 'utf8') }));
  const rssBefore = process.memoryUsage().rss;
  const counts = { 0: 0, 2: 0, 3: 0 };
  let slowestMs = 0;
  for (let i = 0; i < CASES; i++) {
    const source = pick(random, sources);
    let text: string;
    let what: string;
    if (random.next() < 0.6) {
      const document = parseDocument(source.text);
      const names = Object.keys(mutations);
      const steps = 1 + Math.floor(random.next() * 3);
      const applied: string[] = [];
      for (let s = 0; s < steps; s++) {
        const name = pick(random, names);
        mutations[name]!(document, random);
        applied.push(name);
      }
      text = String(document);
      what = applied.join(', ');
    } else {
      const name = pick(random, Object.keys(textMutations));
      text = textMutations[name]!(source.text, random);
      what = name;
    }
    const started = performance.now();
    const { code, detail } = classify(text, `case-${i}.yaml`);
    const tookMs = performance.now() - started;
    slowestMs = Math.max(slowestMs, tookMs);
    counts[code]++;
    assert.notEqual(code, 3, `case ${i} (${source.name}: ${what}) ended in an unexpected error:\n${detail}`);
    assert.ok(tookMs < 5000, `case ${i} (${source.name}: ${what}) took ${tookMs.toFixed(0)} ms`);
  }
  const grewMb = (process.memoryUsage().rss - rssBefore) / 2 ** 20;
  assert.ok(grewMb < 512, `memory grew by ${grewMb.toFixed(0)} MB`);
  // the fuzzer must reach both outcomes, or it is not exploring
  assert.ok(counts[0] > 0 && counts[2] > CASES / 4, JSON.stringify(counts));
});

test('the CLI gives the same answer: exit 0 or 2 with one clear message, never 3, for validate and run --dry-run', { timeout: 120_000 }, (t) => {
  const dir = tempDir(t, 'fuzz-cli');
  const base = readFileSync(join(library, 'etcd-split-brain.yaml'), 'utf8');
  const cases = [base, textMutations['an alias bomb']!(base, new SeededRandom(1)), textMutations['an unresolved alias']!(base, new SeededRandom(1)), base.replace('seed: 42', 'seed: [1]'), base.replace(/^gates:/m, 'gates:\n  toString: ["== 0"]')];
  cases.forEach((text, i) => {
    const file = join(dir, `case-${i}.yaml`);
    writeFileSync(file, text);
    for (const args of [['validate', file], ['run', '--dry-run', file]]) {
      const result = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 60_000 });
      assert.ok(result.status === 0 || result.status === 2, `moat ${args[0]} on case ${i}: exit ${result.status}\n${result.stderr}`);
      if (result.status === 2) {
        assert.match(result.stderr, new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: \\d+ problems?\\n`), result.stderr);
        assert.doesNotMatch(result.stderr, /unexpected error|\n\s+at /, 'no stack trace');
      }
    }
  });
});
