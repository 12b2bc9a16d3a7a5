import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { InvalidInputError, errorMessage } from '../core/errors.ts';
import type { Journal } from '../core/journal.ts';

/** The history database cannot be used: corrupt, locked, or from a newer moat. Run folders are never touched. */
export class HistoryError extends InvalidInputError {
  override name = 'HistoryError';
}

/**
 * The schema, as numbered migrations. Every statement is portable SQL (no SQLite-only features:
 * `history/portable.test.ts` holds every statement here and in `queries` to that), so the same
 * tables can live in PostgreSQL when one machine is not enough (docs/scale-out.md).
 */
export const MIGRATIONS: readonly (readonly string[])[] = [
  [
    `CREATE TABLE runs (
      run_id TEXT PRIMARY KEY,
      scenario TEXT NOT NULL,
      scenario_hash TEXT NOT NULL,
      seed BIGINT NOT NULL,
      moat_version TEXT NOT NULL,
      service_version TEXT,
      versions TEXT NOT NULL,
      status TEXT NOT NULL,
      passed INTEGER NOT NULL,
      phase TEXT NOT NULL,
      started_at TEXT NOT NULL,
      ended_at TEXT,
      duration_ms DOUBLE PRECISION,
      run_dir TEXT NOT NULL,
      source TEXT NOT NULL,
      error TEXT
    )`,
    'CREATE INDEX runs_by_scenario ON runs (scenario, started_at)',
    'CREATE INDEX runs_by_start ON runs (started_at)',
    `CREATE TABLE run_metrics (
      run_id TEXT NOT NULL,
      metric TEXT NOT NULL,
      labels TEXT NOT NULL,
      value DOUBLE PRECISION,
      PRIMARY KEY (run_id, metric, labels)
    )`,
    'CREATE INDEX metrics_by_name ON run_metrics (metric, labels)',
    `CREATE TABLE gates (
      run_id TEXT NOT NULL,
      gate TEXT NOT NULL,
      threshold TEXT NOT NULL,
      actual DOUBLE PRECISION,
      ok INTEGER NOT NULL,
      PRIMARY KEY (run_id, gate, threshold)
    )`,
  ],
  [
    // the scheduler's persistent queue: one row per slot to run, in order
    `CREATE TABLE queue (
      id BIGINT PRIMARY KEY,
      schedule TEXT NOT NULL,
      scenario_file TEXT NOT NULL,
      seed BIGINT NOT NULL,
      due_at TEXT NOT NULL,
      state TEXT NOT NULL,
      run_id TEXT,
      run_dir TEXT,
      started_at TEXT,
      finished_at TEXT,
      detail TEXT
    )`,
    'CREATE INDEX queue_by_state ON queue (state, due_at)',
    `CREATE TABLE schedule_state (
      schedule TEXT PRIMARY KEY,
      last_slot TEXT NOT NULL
    )`,
  ],
  [
    // a scenario's newest runs in the dashboard's order straight from an index, so a trend reads
    // its newest N runs and stops, however long the history
    'CREATE INDEX runs_by_scenario_order ON runs (scenario, started_at, run_id)',
    'DROP INDEX runs_by_scenario',
  ],
];

/** The statements the history runs, all in one place (and all portable, as the migrations). */
export const QUERIES = {
  version: 'SELECT version FROM moat_schema',
  createVersion: 'CREATE TABLE moat_schema (version INTEGER NOT NULL)',
  insertVersion: 'INSERT INTO moat_schema (version) VALUES (?)',
  setVersion: 'UPDATE moat_schema SET version = ?',
  upsertRun: `INSERT INTO runs (run_id, scenario, scenario_hash, seed, moat_version, service_version, versions, status, passed, phase, started_at, ended_at, duration_ms, run_dir, source, error)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
    ON CONFLICT (run_id) DO UPDATE SET scenario = excluded.scenario, scenario_hash = excluded.scenario_hash, seed = excluded.seed, moat_version = excluded.moat_version,
      service_version = excluded.service_version, versions = excluded.versions, status = excluded.status, passed = excluded.passed, phase = excluded.phase,
      started_at = excluded.started_at, ended_at = excluded.ended_at, duration_ms = excluded.duration_ms, run_dir = excluded.run_dir, source = excluded.source, error = excluded.error`,
  deleteMetrics: 'DELETE FROM run_metrics WHERE run_id = ?',
  deleteGates: 'DELETE FROM gates WHERE run_id = ?',
  insertMetric: 'INSERT INTO run_metrics (run_id, metric, labels, value) VALUES (?, ?, ?, ?)',
  insertGate: 'INSERT INTO gates (run_id, gate, threshold, actual, ok) VALUES (?, ?, ?, ?, ?)',
  runs: `SELECT run_id, scenario, scenario_hash, seed, moat_version, service_version, status, passed, phase, started_at, ended_at, duration_ms, run_dir, source, error
    FROM runs ORDER BY started_at DESC, run_id DESC LIMIT ? OFFSET ?`,
  runsOf: `SELECT run_id, scenario, scenario_hash, seed, moat_version, service_version, status, passed, phase, started_at, ended_at, duration_ms, run_dir, source, error
    FROM runs WHERE scenario = ? ORDER BY started_at DESC, run_id DESC LIMIT ? OFFSET ?`,
  run: `SELECT run_id, scenario, scenario_hash, seed, moat_version, service_version, status, passed, phase, started_at, ended_at, duration_ms, run_dir, source, error, versions
    FROM runs WHERE run_id = ?`,
  countRuns: 'SELECT COUNT(*) AS n FROM runs',
  scenarios: 'SELECT scenario, COUNT(*) AS n, MAX(started_at) AS last FROM runs GROUP BY scenario ORDER BY scenario',
  metricNames: `SELECT DISTINCT m.metric, m.labels FROM run_metrics m
    WHERE m.run_id IN (SELECT r.run_id FROM runs r WHERE r.scenario = ? ORDER BY r.started_at DESC, r.run_id DESC LIMIT ?) ORDER BY m.metric, m.labels`,
  series: `SELECT r.run_id, r.started_at, r.moat_version, r.service_version, m.value FROM runs r JOIN run_metrics m ON m.run_id = r.run_id AND m.metric = ? AND m.labels = ?
    WHERE r.scenario = ? AND r.status = 'completed' ORDER BY r.scenario DESC, r.started_at DESC, r.run_id DESC LIMIT ?`,
  metricsOf: 'SELECT metric, labels, value FROM run_metrics WHERE run_id = ? ORDER BY metric, labels',
  gatesOf: 'SELECT gate, threshold, actual, ok FROM gates WHERE run_id = ? ORDER BY gate, threshold',
  runsSince: 'SELECT COUNT(*) AS n FROM runs r WHERE r.started_at >= ?',
  metricMeansSince: `SELECT m.metric, COUNT(m.value) AS n, AVG(m.value) AS mean FROM run_metrics m JOIN runs r ON r.run_id = m.run_id
    WHERE r.started_at >= ? AND m.metric IN ('fastest_ttd_ms', 'recovery_ms', 'fault_detected') GROUP BY m.metric`,
  sloSince: `SELECT COUNT(*) AS n, SUM(s.ok) AS passed FROM (SELECT g.run_id, MIN(g.ok) AS ok FROM gates g JOIN runs r ON r.run_id = g.run_id
    WHERE r.started_at >= ? AND (g.gate LIKE 'availability%' OR g.gate LIKE 'latency_ms%') GROUP BY g.run_id) s`,
  gatesByVersionSince: `SELECT r.moat_version, COUNT(*) AS gates, SUM(g.ok) AS passed FROM gates g JOIN runs r ON r.run_id = g.run_id
    WHERE r.started_at >= ? GROUP BY r.moat_version ORDER BY r.moat_version`,
} as const;

export interface RunRow {
  runId: string;
  scenario: string;
  scenarioHash: string;
  seed: number;
  moatVersion: string;
  serviceVersion: string | null;
  status: string;
  passed: boolean;
  phase: string;
  startedAt: string;
  endedAt: string | null;
  durationMs: number | null;
  runDir: string;
  source: string;
  error: string | null;
}

export interface SeriesPoint {
  runId: string;
  startedAt: string;
  moatVersion: string;
  serviceVersion: string | null;
  value: number | null;
}

/** A metric of one run: `ttd_ms` with labels `{fault, detector}`, `availability` with `{load, op}`, ... */
export interface RunMetric {
  metric: string;
  labels: Record<string, string>;
  value: number | null;
}

/** Labels as stored: sorted `key=value` pairs joined by commas (empty for none). */
export function labelKey(labels: Record<string, string>): string {
  return Object.keys(labels).sort().map((k) => `${k}=${labels[k]}`).join(',');
}

export function parseLabelKey(key: string): Record<string, string> {
  const labels: Record<string, string> = {};
  if (key === '') return labels;
  for (const pair of key.split(',')) {
    const at = pair.indexOf('=');
    labels[pair.slice(0, at)] = pair.slice(at + 1);
  }
  return labels;
}

/** What history keeps of a run's results, from its journal. */
export function metricsOf(journal: Journal): RunMetric[] {
  const metrics: RunMetric[] = [];
  for (const d of journal.detections) metrics.push({ metric: 'ttd_ms', labels: { fault: d.faultId, detector: d.detector }, value: d.ttdMs });
  for (const s of journal.detectorScores) metrics.push({ metric: 'false_alarms', labels: { detector: s.detector }, value: s.falseAlarms });
  for (const f of journal.faults) {
    metrics.push({ metric: 'recovery_ms', labels: { fault: f.id }, value: f.recoveryMs });
    if (f.leaderChange) metrics.push({ metric: 'leader_election_ms', labels: { fault: f.id }, value: f.leaderChange.afterMs });
    if (f.appliedAt !== null) {
      // moat's own detectors (a team's alert rules are scored beside them, not counted here)
      const caught = journal.detections.filter((d) => d.faultId === f.id && d.ttdMs !== null && !d.detector.startsWith('alert:')).map((d) => d.ttdMs!);
      metrics.push({ metric: 'fault_detected', labels: { fault: f.id }, value: caught.length ? 1 : 0 });
      if (caught.length) metrics.push({ metric: 'fastest_ttd_ms', labels: { fault: f.id }, value: Math.min(...caught) });
    }
  }
  for (const d of journal.diagnosis?.faults ?? []) {
    metrics.push({ metric: 'ttl_ms', labels: { fault: d.faultId }, value: d.ttlMs });
    metrics.push({ metric: 'localization_top1', labels: { fault: d.faultId }, value: d.top1 ? 1 : 0 });
  }
  for (const load of journal.load) {
    metrics.push({ metric: 'lost_writes', labels: { load: load.name }, value: load.lostWrites });
    if (load.messages) {
      metrics.push({ metric: 'duplicated_messages', labels: { load: load.name }, value: load.messages.duplicated });
      metrics.push({ metric: 'reordered_messages', labels: { load: load.name }, value: load.messages.reordered });
    }
    for (const [op, stats] of Object.entries(load.byOp)) {
      metrics.push({ metric: 'availability', labels: { load: load.name, op }, value: stats.requests > 0 ? 1 - stats.errors / stats.requests : null });
      metrics.push({ metric: 'latency_p99_ms', labels: { load: load.name, op }, value: stats.p99Ms });
    }
  }
  // one row per metric and labels: the last one wins (a journal never repeats them)
  const unique = new Map(metrics.map((m) => [`${m.metric}|${labelKey(m.labels)}`, m]));
  return [...unique.values()].map((m) => ({ ...m, value: m.value === null || Number.isFinite(m.value) ? m.value : null }));
}

/** The service under test's version: the first app service's, as the journal recorded it. */
function serviceVersionOf(journal: Journal): string | null {
  const app = journal.scenario?.twin?.services?.find((s) => s.kind === 'app');
  return app ? journal.versions[app.name] ?? journal.versions[(app as { app?: string }).app ?? ''] ?? null : null;
}

/** The scenario's identity: a digest of the validated scenario, keys in order. */
export function scenarioHash(journal: Journal): string {
  const canonical = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(canonical);
    if (value && typeof value === 'object') return Object.fromEntries(Object.keys(value).sort().map((k) => [k, canonical((value as Record<string, unknown>)[k])]));
    return value;
  };
  return createHash('sha256').update(JSON.stringify(canonical({ ...journal.scenario, seed: undefined }))).digest('hex').slice(0, 16);
}

type Row = Record<string, string | number | bigint | null | Uint8Array>;

function toRunRow(row: Row): RunRow {
  return {
    runId: String(row.run_id), scenario: String(row.scenario), scenarioHash: String(row.scenario_hash), seed: Number(row.seed),
    moatVersion: String(row.moat_version), serviceVersion: row.service_version === null ? null : String(row.service_version),
    status: String(row.status), passed: Number(row.passed) === 1, phase: String(row.phase), startedAt: String(row.started_at),
    endedAt: row.ended_at === null ? null : String(row.ended_at), durationMs: row.duration_ms === null ? null : Number(row.duration_ms),
    runDir: String(row.run_dir), source: String(row.source), error: row.error === null ? null : String(row.error),
  };
}

/**
 * moat's memory of runs: one SQLite file (node:sqlite), `history.db` under the state directory
 * unless a path is given. Runs are recorded as they finish; the run folder stays the source of
 * truth, and a history that cannot be opened says why without touching any run folder.
 */
export class History {
  readonly path: string;
  readonly db: DatabaseSync;

  private constructor(path: string, db: DatabaseSync) {
    this.path = path;
    this.db = db;
  }

  static open(path: string, options: { busyTimeoutMs?: number } = {}): History {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    let db: DatabaseSync;
    try {
      db = new DatabaseSync(path, { timeout: options.busyTimeoutMs ?? 5000 });
    } catch (error) {
      throw new HistoryError(`cannot open the history database ${path}: ${errorMessage(error)}`, { cause: error });
    }
    const history = new History(path, db);
    try {
      history.#migrate();
    } catch (error) {
      db.close();
      const message = errorMessage(error);
      if (/locked|busy/i.test(message)) throw new HistoryError(`the history database ${path} is locked by another moat (${message}); run folders are unaffected`, { cause: error });
      if (/not a database|malformed|corrupt/i.test(message)) throw new HistoryError(`the history database ${path} is damaged (${message}); move it aside and run \`moat history import <runs-dir>\` to rebuild it from the run folders, which are unaffected`, { cause: error });
      throw error instanceof HistoryError ? error : new HistoryError(`the history database ${path} cannot be used: ${message}`, { cause: error });
    }
    return history;
  }

  #migrate(): void {
    try {
      this.db.prepare(QUERIES.version).get();
    } catch (error) {
      if (!/no such table/i.test(errorMessage(error))) throw error;
      this.transaction(() => {
        this.db.exec(QUERIES.createVersion);
        this.db.prepare(QUERIES.insertVersion).run(0);
      });
    }
    const current = Number((this.db.prepare(QUERIES.version).get() as Row).version);
    if (current > MIGRATIONS.length) throw new HistoryError(`the history database ${this.path} is at schema ${current}, newer than this moat knows (${MIGRATIONS.length}); use a newer moat`);
    for (let version = current; version < MIGRATIONS.length; version++) {
      this.transaction(() => {
        for (const statement of MIGRATIONS[version]!) this.db.exec(statement);
        this.db.prepare(QUERIES.setVersion).run(version + 1);
      });
    }
  }

  get schemaVersion(): number {
    return Number((this.db.prepare(QUERIES.version).get() as Row).version);
  }

  transaction<T>(work: () => T): T {
    this.db.exec('BEGIN IMMEDIATE');
    try {
      const result = work();
      this.db.exec('COMMIT');
      return result;
    } catch (error) {
      this.db.exec('ROLLBACK');
      throw error;
    }
  }

  /** Records (or records again) a finished run, from its journal. */
  record(journal: Journal, source: 'run' | 'gate' | 'import' | 'schedule' = 'run'): void {
    const runId = journal.runId;
    const metrics = metricsOf(journal);
    this.transaction(() => {
      this.db.prepare(QUERIES.upsertRun).run(
        runId, journal.scenarioName, scenarioHash(journal), journal.seed, journal.moatVersion, serviceVersionOf(journal), JSON.stringify(journal.versions ?? {}),
        journal.status, journal.verdict?.passed ? 1 : 0, journal.phase ?? 'done', journal.startedAt, journal.endedAt || null,
        Number.isFinite(journal.durationMs) ? journal.durationMs : null, journal.runDir, source, journal.error ?? null,
      );
      this.db.prepare(QUERIES.deleteMetrics).run(runId);
      this.db.prepare(QUERIES.deleteGates).run(runId);
      const metric = this.db.prepare(QUERIES.insertMetric);
      for (const m of metrics) metric.run(runId, m.metric, labelKey(m.labels), m.value);
      const gate = this.db.prepare(QUERIES.insertGate);
      const seen = new Set<string>();
      for (const g of journal.gates ?? []) {
        const key = `${g.metric}\u0000${g.threshold}`;
        if (seen.has(key)) continue;
        seen.add(key);
        gate.run(runId, g.metric, g.threshold, g.actual === null || !Number.isFinite(g.actual) ? null : g.actual, g.ok ? 1 : 0);
      }
    });
  }

  runs(options: { scenario?: string; limit?: number; offset?: number } = {}): RunRow[] {
    const limit = options.limit ?? 100;
    const offset = options.offset ?? 0;
    const rows = options.scenario === undefined ? this.db.prepare(QUERIES.runs).all(limit, offset) : this.db.prepare(QUERIES.runsOf).all(options.scenario, limit, offset);
    return (rows as Row[]).map(toRunRow);
  }

  run(runId: string): (RunRow & { versions: Record<string, string>; metrics: RunMetric[]; gates: { gate: string; threshold: string; actual: number | null; ok: boolean }[] }) | undefined {
    const row = this.db.prepare(QUERIES.run).get(runId) as Row | undefined;
    if (!row) return undefined;
    const metrics = (this.db.prepare(QUERIES.metricsOf).all(runId) as Row[]).map((m) => ({ metric: String(m.metric), labels: parseLabelKey(String(m.labels)), value: m.value === null ? null : Number(m.value) }));
    const gates = (this.db.prepare(QUERIES.gatesOf).all(runId) as Row[]).map((g) => ({ gate: String(g.gate), threshold: String(g.threshold), actual: g.actual === null ? null : Number(g.actual), ok: Number(g.ok) === 1 }));
    return { ...toRunRow(row), versions: JSON.parse(String(row.versions)) as Record<string, string>, metrics, gates };
  }

  count(): number {
    return Number((this.db.prepare(QUERIES.countRuns).get() as Row).n);
  }

  scenarios(): { scenario: string; runs: number; last: string }[] {
    return (this.db.prepare(QUERIES.scenarios).all() as Row[]).map((r) => ({ scenario: String(r.scenario), runs: Number(r.n), last: String(r.last) }));
  }

  /** The metrics a scenario's newest runs have (the last `recent`), as `metric` + labels. */
  metricNames(scenario: string, recent = 100): { metric: string; labels: Record<string, string> }[] {
    return (this.db.prepare(QUERIES.metricNames).all(scenario, recent) as Row[]).map((r) => ({ metric: String(r.metric), labels: parseLabelKey(String(r.labels)) }));
  }

  /** One metric over a scenario's completed runs, oldest first (the newest `limit`). */
  series(scenario: string, metric: string, labels: Record<string, string>, limit = 1000): SeriesPoint[] {
    const rows = this.db.prepare(QUERIES.series).all(metric, labelKey(labels), scenario, limit) as Row[];
    return rows.reverse().map((r) => ({ runId: String(r.run_id), startedAt: String(r.started_at), moatVersion: String(r.moat_version), serviceVersion: r.service_version === null ? null : String(r.service_version), value: r.value === null ? null : Number(r.value) }));
  }

  close(): void {
    if (this.db.isOpen) this.db.close();
  }
}
