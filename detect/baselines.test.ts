import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tempDir } from '../core/testing.ts';
import { join } from 'node:path';
import type { Series } from '../core/series.ts';
import { earlierWarmups, loadImports, trainingFor } from './baselines.ts';

/** A recorded run's journal (the report fixture) with the fields under test changed. */
const fixture = JSON.parse(readFileSync(new URL('../reports/fixtures/etcd-split-brain/journal.json', import.meta.url), 'utf8')) as object;

function writeRun(dir: string, name: string, journal: object, series: object[]): void {
  mkdirSync(join(dir, name), { recursive: true });
  writeFileSync(join(dir, name, 'journal.json'), JSON.stringify({ ...fixture, series: { file: 'series.jsonl', count: series.length, watched: [] }, ...journal }));
  writeFileSync(join(dir, name, 'series.jsonl'), series.map((s) => JSON.stringify(s)).join('\n') + '\n');
}

const own: Series = { name: 'x', labels: { op: 'all' }, t: Float64Array.from([5000, 6000, 7000]), v: Float64Array.from([1, 2, 3]) };

test('earlier runs: only completed runs of the same scenario, newest first, warm-up points only', (t) => {
  const dir = tempDir(t, 'history');
  const points = { name: 'x', labels: { op: 'all' }, t: [0, 5000, 6000, 50_000], v: [9, 10, null, 99] };
  writeRun(dir, 'old', { scenarioName: 's', status: 'completed', startedAt: '2026-01-01T00:00:00Z', warmupEndsAt: 45_000 }, [points]);
  writeRun(dir, 'new', { scenarioName: 's', status: 'completed', startedAt: '2026-01-02T00:00:00Z', warmupEndsAt: 45_000 }, [{ ...points, v: [7, 20, 21, 99] }]);
  writeRun(dir, 'crashed', { scenarioName: 's', status: 'failed', startedAt: '2026-01-03T00:00:00Z', warmupEndsAt: 45_000 }, [points]);
  writeRun(dir, 'other', { scenarioName: 'other', status: 'completed', startedAt: '2026-01-04T00:00:00Z', warmupEndsAt: 45_000 }, [points]);
  const runs = earlierWarmups(dir, 's', 5, 5000);
  assert.deepEqual(runs.map((r) => r.runDir.split('/').pop()), ['new', 'old']);
  assert.deepEqual(runs[0]!.series.get('x{op=all}'), { t: [5000, 6000], v: [20, 21] });

  const { train, source } = trainingFor(own, own, runs, [], 45_000)!;
  // oldest first, laid end to end before this run's warm-up at its step
  assert.deepEqual(Array.from(train.v).map((v) => (Number.isNaN(v) ? null : v)), [10, null, 20, 21, 1, 2, 3]);
  assert.deepEqual(Array.from(train.t), [1000, 2000, 3000, 4000, 5000, 6000, 7000]);
  assert.equal(source, 'x{op=all}: warm-up + 2 earlier runs (7 points)');
  assert.equal(earlierWarmups(dir, 's', 1, 5000).length, 1);
});

test('an import is laid just before the warm-up for the series it names, compressed and scaled', (t) => {
  const file = join(tempDir(t, 'import'), 'prod.csv');
  writeFileSync(file, 'timestamp,value\n1700000000,100\n1700000060,200\n1700000120,300\n1700000180,400\n1700000240,500\n');
  const imports = loadImports([{ file, series: 'x', scale: 0.01, speedup: 60 }]);
  const { train, source } = trainingFor(own, own, [], imports, 45_000)!;
  assert.deepEqual(Array.from(train.v), [1, 2, 3, 4, 5, 1, 2, 3]);
  // one minute per point compressed 60x: 1 s apart, ending one step before the warm-up's first point
  assert.deepEqual(Array.from(train.t), [0, 1000, 2000, 3000, 4000, 5000, 6000, 7000]);
  assert.equal(source, `x{op=all}: 5 points imported from ${file} x 0.01, 60x faster, then the warm-up`);
  assert.equal(trainingFor({ ...own, name: 'y' }, own, [], imports, 45_000), undefined, 'other series keep their warm-up');
});
