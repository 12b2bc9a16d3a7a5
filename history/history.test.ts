import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import type { Journal } from '../core/journal.ts';
import { tempDir, type Cleanup } from '../core/testing.ts';
import { FakeClock, FakeTwin, parseScenario, runScenario } from '../runner/index.ts';
import { History, HistoryError, MIGRATIONS, QUERIES, SCHEDULER_QUERIES, detectRegression, mannWhitneyGreater, type SeriesPoint } from './index.ts';

const SCENARIO = `name: fake-history
seed: 9
twin: { services: { db: { kind: etcd, replicas: 3 } } }
load: []
observe: { bpf: [], prometheus: [] }
baseline: { warmup: 30s }
faults: [{ id: cut, type: partition, mode: isolate, target: db.leader, at: 30s, duration: 20s }]
recovery: 10s
gates:
  leader_election_ms: ["max < 1500"]
`;

async function fakeRun(t: Cleanup, seed: number): Promise<Journal> {
  const clock = new FakeClock();
  return runScenario(parseScenario(SCENARIO, 'fake.yaml'), {
    scenarioFile: 'fake.yaml', outDir: tempDir(t, 'runs'), stateDir: tempDir(t, 'state'), clock, seed,
    twinUp: async (spec, options) => new FakeTwin(spec, options.runId, clock),
  });
}

test('history records a run with its gates and metrics, lists it, and records it again without duplicates', async (t) => {
  const history = History.open(join(tempDir(t, 'history'), 'history.db'));
  t.after(() => history.close());
  assert.equal(history.schemaVersion, MIGRATIONS.length);
  const journal = await fakeRun(t, 3);
  history.record(journal);
  history.record(journal);
  assert.equal(history.count(), 1);
  const [row] = history.runs();
  assert.equal(row!.runId, journal.runId);
  assert.equal(row!.scenario, 'fake-history');
  assert.equal(row!.seed, 3);
  assert.equal(row!.passed, journal.verdict.passed);
  assert.equal(row!.runDir, journal.runDir);
  assert.match(row!.scenarioHash, /^[0-9a-f]{16}$/);
  const full = history.run(journal.runId)!;
  assert.deepEqual(full.gates.map((g) => [g.gate, g.threshold, g.ok]), journal.gates.map((g) => [g.metric, g.threshold, g.ok]));
  const election = full.metrics.find((m) => m.metric === 'leader_election_ms')!;
  assert.equal(election.value, journal.faults[0]!.leaderChange!.afterMs);
  assert.deepEqual(election.labels, { fault: 'cut' });
  assert.ok(full.metrics.some((m) => m.metric === 'ttd_ms' && m.labels.detector === 'robust-z'));
  assert.deepEqual(history.series('fake-history', 'leader_election_ms', { fault: 'cut' }).map((p) => p.value), [journal.faults[0]!.leaderChange!.afterMs]);
});

test('a damaged history database is a clear error that names the way back, and the file is left as it was', (t) => {
  const file = join(tempDir(t, 'history'), 'history.db');
  writeFileSync(file, 'this is not a database, it is a note somebody saved here by mistake '.repeat(100));
  assert.throws(() => History.open(file), (error: Error) => error instanceof HistoryError && /damaged.*moat history import <runs-dir>/.test(error.message));
});

test('a locked history database waits, then says it is locked; a newer schema is refused', (t) => {
  const file = join(tempDir(t, 'history'), 'history.db');
  History.open(file).close();
  const holder = new DatabaseSync(file);
  holder.exec('BEGIN EXCLUSIVE');
  try {
    assert.throws(() => History.open(file, { busyTimeoutMs: 100 }), (error: Error) => error instanceof HistoryError && /is locked by another moat.*run folders are unaffected/.test(error.message));
  } finally {
    holder.exec('ROLLBACK');
    holder.close();
  }
  const newer = new DatabaseSync(file);
  newer.prepare(QUERIES.setVersion).run(MIGRATIONS.length + 1);
  newer.close();
  assert.throws(() => History.open(file), /newer than this moat knows/);
});

test('the history SQL is portable: no SQLite-only features, so the same statements run on PostgreSQL', () => {
  const statements = [...MIGRATIONS.flat(), ...Object.values(QUERIES), ...Object.values(SCHEDULER_QUERIES)];
  const sqliteOnly = [/AUTOINCREMENT/i, /\bPRAGMA\b/i, /INSERT\s+OR\s+/i, /REPLACE\s+INTO/i, /\bGLOB\b/i, /\bstrftime\s*\(/i, /\bdatetime\s*\(/i, /\bjson_\w+\s*\(/i, /\browid\b/i, /\bIIF\s*\(/i, /\bsqlite_/i, /WITHOUT\s+ROWID/i, /\bIFNULL\s*\(/i, /\bTYPEOF\s*\(/i];
  for (const sql of statements) for (const pattern of sqliteOnly) assert.doesNotMatch(sql, pattern, sql);
  // types are the ones both engines know
  for (const sql of MIGRATIONS.flat().filter((s) => /CREATE TABLE/i.test(s))) {
    for (const [, column, type] of sql.matchAll(/^\s+(\w+) (\w+(?: \w+)?)/gm)) {
      if (column === 'PRIMARY') continue;
      assert.ok(['TEXT', 'BIGINT', 'INTEGER', 'DOUBLE PRECISION'].some((t) => type!.startsWith(t)), `${type} in ${sql}`);
    }
  }
});

test('Mann-Whitney: exact p-values match the table; ties use the normal approximation', () => {
  // all of a above all of b, n1 = 3, n2 = 4: 1 arrangement of C(7, 3) = 35
  assert.equal(mannWhitneyGreater([10, 11, 12], [1, 2, 3, 4]), 1 / 35);
  // a entirely below b: every arrangement has U >= 0
  assert.equal(mannWhitneyGreater([1, 2], [3, 4, 5]), 1);
  const tied = mannWhitneyGreater([5, 5, 6, 7], [1, 5, 5, 2, 3]);
  assert.ok(tied > 0 && tied < 0.1);
});

test('regressions: a 20% TTD shift is flagged within a few runs, naming the run and version where it moved; steady noise is not', () => {
  let x = 42;
  const noise = () => {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    return (x / 2 ** 31 - 0.5) * 0.3; // +-15%
  };
  const points: SeriesPoint[] = [];
  let flagged: number | undefined;
  for (let run = 1; run <= 60; run++) {
    const shifted = run > 40;
    points.push({ runId: `r${run}`, startedAt: String(run), moatVersion: '0.1.0', serviceVersion: shifted ? 'ledger-2' : 'ledger-1', value: 3000 * (shifted ? 1.2 : 1) * (1 + noise()) });
    const regression = detectRegression(points, 'ttd_ms');
    if (!shifted) assert.equal(regression, undefined, `run ${run}: no shift yet`);
    if (shifted && regression && flagged === undefined) {
      flagged = run;
      assert.equal(regression.worse, 'higher');
      assert.ok(regression.recentMedian > regression.baselineMedian);
      // the segment starts at or after the shift, at the version that brought it
      assert.ok(Number(regression.firstRun.runId.slice(1)) >= 41, regression.firstRun.runId);
    }
  }
  assert.ok(flagged !== undefined && flagged <= 46, `flagged at run ${flagged}`);
  // availability gets worse downwards; a miss (null TTD) is the worst value
  const availability = Array.from({ length: 30 }, (_, i): SeriesPoint => ({ runId: `a${i}`, startedAt: String(i), moatVersion: '1', serviceVersion: null, value: i < 25 ? 0.99 + noise() / 100 : 0.9 }));
  assert.equal(detectRegression(availability, 'availability')?.worse, 'lower');
  const misses = Array.from({ length: 30 }, (_, i): SeriesPoint => ({ runId: `m${i}`, startedAt: String(i), moatVersion: '1', serviceVersion: null, value: i < 25 ? 2000 + 500 * noise() : null }));
  assert.ok(detectRegression(misses, 'ttd_ms'));
});
