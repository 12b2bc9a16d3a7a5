import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../core/testing.ts';
import { InvalidInputError } from '../core/errors.ts';
import { normalizeNab, probationaryLength, scaledSigmoid, scoreNabFile, NAB_APPLICATION_PROFILES } from './nab.ts';
import { operationalCorpus, readNabCorpus, writeNabCorpus } from './nab-corpus.ts';

const { standard, reward_low_fn: lowFn } = NAB_APPLICATION_PROFILES;
const close = (a: number, b: number) => assert.ok(Math.abs(a - b) < 1e-9, `${a} vs ${b}`);

test('NAB scoring, by hand: perfect 100, silent 0, late and false detections as the sigmoid says', () => {
  // 1000 points: probation 150; windows [300, 399] and [700, 799] (width 100)
  const windows = [{ from: 300, to: 399 }, { from: 700, to: 799 }];
  assert.equal(probationaryLength(1000), 150);
  assert.equal(probationaryLength(10_000), 750);
  const perfect = scoreNabFile(1000, windows, [300, 700], standard);
  close(perfect.raw, 2);
  close(normalizeNab(perfect.raw, perfect.windows, standard), 100);
  const silent = scoreNabFile(1000, windows, [], standard);
  close(silent.raw, -2);
  close(normalizeNab(silent.raw, silent.windows, standard), 0);
  // the last point of a window: position -1/100, sigma(-0.01) / sigma(-1)
  const late = scoreNabFile(1000, windows, [399], standard);
  close(late.raw, (2 / (1 + Math.exp(-0.05)) - 1) / (2 / (1 + Math.exp(-5)) - 1) - 1);
  // only the earliest detection in a window counts; later ones there cost nothing
  close(scoreNabFile(1000, windows, [300, 350, 399, 700], standard).raw, 2);
  // a false positive before any window costs A_FP in full; one 50 points after a window of
  // width 100 costs A_FP * sigma(50 / 99); in probation, nothing
  close(scoreNabFile(1000, windows, [300, 700, 200], standard).raw, 2 - 0.11);
  close(scoreNabFile(1000, windows, [300, 700, 449], standard).raw, 2 + 0.11 * scaledSigmoid(50 / 99));
  close(scoreNabFile(1000, windows, [300, 700, 100], standard).raw, 2);
  // reward low FN: a miss costs 2
  close(scoreNabFile(1000, windows, [300], lowFn).raw, 1 - 2);
  close(normalizeNab(-2 * 2, 2, lowFn), 0);
  // a window inside probation is not scored
  assert.equal(scoreNabFile(1000, [{ from: 100, to: 140 }, ...windows], [300, 700], standard).windows, 2);
  close(scaledSigmoid(-1), 0.9866142981514303);
  close(scaledSigmoid(0), 0);
  assert.equal(scaledSigmoid(3), -1);
});

test('a corpus round-trips through NAB\'s layout; a malformed one is an input error naming the file and line', (t) => {
  const dir = tempDir(t, 'nab');
  const corpus = operationalCorpus(9, 6);
  writeNabCorpus(dir, corpus);
  const read = readNabCorpus(dir);
  assert.deepEqual(read.map((f) => f.name), corpus.map((f) => f.name).sort());
  for (const file of read) {
    const original = corpus.find((f) => f.name === file.name)!;
    assert.deepEqual(file.windows, original.windows);
    assert.deepEqual(file.onsets, original.onsets);
    assert.deepEqual(Array.from(file.t), Array.from(original.t));
  }
  // the same seed, the same corpus
  assert.deepEqual(operationalCorpus(9, 6).map((f) => Array.from(f.v.slice(0, 50))), corpus.map((f) => Array.from(f.v.slice(0, 50))));

  const bad = tempDir(t, 'nab-bad');
  mkdirSync(join(bad, 'data', 'g'), { recursive: true });
  mkdirSync(join(bad, 'labels'));
  writeFileSync(join(bad, 'data', 'g', 'a.csv'), 'timestamp,value\n2026-01-01 00:00:00,1\n2026-01-01 00:05:00,oops\n');
  writeFileSync(join(bad, 'labels', 'combined_windows.json'), '{}');
  assert.throws(() => readNabCorpus(bad), (error: Error) => error instanceof InvalidInputError && /a\.csv:3: expected "YYYY-MM-DD HH:MM:SS,value"/.test(error.message));
  writeFileSync(join(bad, 'data', 'g', 'a.csv'), 'timestamp,value\n2026-01-01 00:00:00,1\n');
  writeFileSync(join(bad, 'labels', 'combined_windows.json'), '{"g/b.csv": []}');
  assert.throws(() => readNabCorpus(bad), /"g\/b\.csv" has no file in data\//);
  writeFileSync(join(bad, 'labels', 'combined_windows.json'), '{"g/a.csv": [["2026-01-01 00:05:00", "2026-01-01 00:00:00"]]}');
  assert.throws(() => readNabCorpus(bad), /g\/a\.csv\[0\]: expected \["YYYY-MM-DD HH:MM:SS", "YYYY-MM-DD HH:MM:SS"\], start before end/);
});
