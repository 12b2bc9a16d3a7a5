import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { randomInt } from 'node:crypto';
import { Cron } from 'croner';
import { errorMessage } from '../core/errors.ts';
import type { Journal } from '../core/journal.ts';
import { readJournal } from '../core/journal-file.ts';
import type { History } from './db.ts';

/** One entry of a schedule file: when, which scenarios, how many seeds per slot, and in which hours. */
export interface ScheduleEntry {
  name: string;
  /** a cron expression (5 fields, or 6 with seconds first) */
  cron: string;
  scenarios: { file: string; name: string }[];
  /** runs per scenario per slot, each with its own drawn seed */
  seeds: number;
  /** minutes of the day (in the schedule's time zone) when slots may run; none: any time */
  window?: { fromMinute: number; toMinute: number };
}

/**
 * A schedule: its entries, its time zone, what happens to slots missed while moat was not running
 * (`latest`: the most recent missed slot of each entry runs, `all`: every one, within the budget,
 * `none`: they are recorded as missed), and how many runs a day it may start at most.
 */
export interface Schedule {
  file: string;
  timezone: string;
  catchUp: 'latest' | 'all' | 'none';
  runsPerDay: number;
  entries: ScheduleEntry[];
}

export type QueueState = 'queued' | 'running' | 'done' | 'interrupted' | 'skipped' | 'failed';

export interface QueueItem {
  id: number;
  schedule: string;
  scenarioFile: string;
  seed: number;
  dueAt: string;
  state: QueueState;
  runId: string | null;
  runDir: string | null;
  startedAt: string | null;
  finishedAt: string | null;
  detail: string | null;
}

/** Runs one queued item; `started` is called as soon as the run has its id and folder. */
export type Executor = (item: QueueItem, signal: AbortSignal, started: (run: { runId: string; runDir: string }) => void) => Promise<Journal>;

const Q = {
  maxId: 'SELECT MAX(id) AS id FROM queue',
  insert: 'INSERT INTO queue (id, schedule, scenario_file, seed, due_at, state, run_id, run_dir, started_at, finished_at, detail) VALUES (?, ?, ?, ?, ?, ?, NULL, NULL, NULL, NULL, ?)',
  byState: 'SELECT * FROM queue WHERE state = ? ORDER BY due_at, id',
  byId: 'SELECT * FROM queue WHERE id = ?',
  recent: 'SELECT * FROM queue ORDER BY id DESC LIMIT ?',
  start: 'UPDATE queue SET state = ?, started_at = ? WHERE id = ?',
  started: 'UPDATE queue SET run_id = ?, run_dir = ? WHERE id = ?',
  finish: 'UPDATE queue SET state = ?, finished_at = ?, detail = ? WHERE id = ?',
  queuedFor: "SELECT COUNT(*) AS n FROM queue WHERE schedule = ? AND scenario_file = ? AND state = 'queued'",
  countDay: "SELECT COUNT(*) AS n FROM queue WHERE due_at >= ? AND due_at < ? AND state <> 'skipped'",
  lastSlot: 'SELECT last_slot FROM schedule_state WHERE schedule = ?',
  insertSlot: 'INSERT INTO schedule_state (schedule, last_slot) VALUES (?, ?)',
  updateSlot: 'UPDATE schedule_state SET last_slot = ? WHERE schedule = ?',
} as const;

export const SCHEDULER_QUERIES = Q;

type Row = Record<string, string | number | bigint | null | Uint8Array>;

function toItem(row: Row): QueueItem {
  const text = (v: unknown) => (v === null || v === undefined ? null : String(v));
  return {
    id: Number(row.id), schedule: String(row.schedule), scenarioFile: String(row.scenario_file), seed: Number(row.seed), dueAt: String(row.due_at),
    state: String(row.state) as QueueState, runId: text(row.run_id), runDir: text(row.run_dir), startedAt: text(row.started_at), finishedAt: text(row.finished_at), detail: text(row.detail),
  };
}

/** Minutes since midnight of `date` in `timezone`. */
function minuteOfDay(date: Date, timezone: string): number {
  const parts = new Intl.DateTimeFormat('en-GB', { timeZone: timezone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).formatToParts(date);
  const hour = Number(parts.find((p) => p.type === 'hour')!.value);
  const minute = Number(parts.find((p) => p.type === 'minute')!.value);
  return hour * 60 + minute;
}

export function inWindow(entry: ScheduleEntry, date: Date, timezone: string): boolean {
  if (!entry.window) return true;
  const m = minuteOfDay(date, timezone);
  const { fromMinute, toMinute } = entry.window;
  return fromMinute <= toMinute ? m >= fromMinute && m <= toMinute : m >= fromMinute || m <= toMinute;
}

/** What the scheduler says about itself, for the dashboard. */
export interface SchedulerStatus {
  running: QueueItem | undefined;
  queued: QueueItem[];
  next: { schedule: string; at: string; scenarios: string[] }[];
  paused: boolean;
}

/**
 * Runs a schedule, one run at a time, through a queue that lives in the history database: every
 * slot becomes queue rows (one per scenario and seed), and the queue survives a crash. On start,
 * a run left `running` by a process that died is marked interrupted (and recorded in history from
 * its journal, which says how far it got), and slots missed while nothing ran follow the catch-up
 * policy. Slots outside their entry's window, or over the day's budget, are recorded as skipped.
 */
export class Scheduler {
  readonly schedule: Schedule;
  readonly #history: History;
  readonly #execute: Executor;
  readonly #now: () => Date;
  readonly #crons: Map<string, Cron>;
  #timer: NodeJS.Timeout | undefined;
  #running: { item: QueueItem; abort: AbortController; done: Promise<void> } | undefined;
  #paused = false;
  #stopped = false;
  readonly #listeners = new Set<(item: QueueItem) => void>();

  constructor(history: History, schedule: Schedule, execute: Executor, options: { now?: () => Date } = {}) {
    this.#history = history;
    this.schedule = schedule;
    this.#execute = execute;
    this.#now = options.now ?? (() => new Date());
    this.#crons = new Map(schedule.entries.map((e) => [e.name, new Cron(e.cron, { paused: true, timezone: schedule.timezone })]));
  }

  /** Called whenever a queue item changes state. */
  onChange(listener: (item: QueueItem) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #changed(id: number): void {
    const item = this.item(id);
    if (item) for (const listener of this.#listeners) listener(item);
  }

  item(id: number): QueueItem | undefined {
    const row = this.#history.db.prepare(Q.byId).get(id) as Row | undefined;
    return row ? toItem(row) : undefined;
  }

  /** Recovers from a crash, catches up on missed slots, and starts ticking (every `tickMs`). */
  start(tickMs = 1000): void {
    this.recover();
    this.tick();
    this.#timer = setInterval(() => this.tick(), tickMs);
    this.#timer.unref?.();
  }

  /** A run left `running` by a process that died is interrupted; its journal goes to history as it stands. */
  recover(): QueueItem[] {
    const orphans = (this.#history.db.prepare(Q.byState).all('running') as Row[]).map(toItem);
    for (const item of orphans) {
      let detail = 'moat stopped while this run was in progress';
      if (item.runDir && existsSync(join(item.runDir, 'journal.json'))) {
        try {
          const journal = readJournal(item.runDir);
          if (journal.status === 'running') {
            journal.status = 'interrupted';
            journal.error ??= `moat stopped during ${journal.phase}`;
            journal.verdict = { passed: false, reasons: [journal.error] };
          }
          journal.gates ??= [];
          this.#history.record(journal, 'schedule');
          detail += `; recorded as ${journal.status} at ${journal.phase}`;
        } catch (error) {
          detail += `; its journal could not be read: ${errorMessage(error)}`;
        }
      }
      this.#history.db.prepare(Q.finish).run('interrupted', this.#now().toISOString(), detail, item.id);
      this.#changed(item.id);
    }
    return orphans;
  }

  /** Queues the slots that came due (catching up as the policy says), then starts the next run if idle. */
  tick(): void {
    if (this.#stopped) return;
    const now = this.#now();
    for (const entry of this.schedule.entries) this.#enqueueDue(entry, now);
    if (!this.#running && !this.#paused) this.#runNext();
  }

  #enqueueDue(entry: ScheduleEntry, now: Date): void {
    const cron = this.#crons.get(entry.name)!;
    const last = this.#history.db.prepare(Q.lastSlot).get(entry.name) as Row | undefined;
    if (!last) {
      // a new entry starts from now: nothing before it was missed
      this.#history.db.prepare(Q.insertSlot).run(entry.name, now.toISOString());
      return;
    }
    const due: Date[] = [];
    let cursor = new Date(String(last.last_slot));
    for (let i = 0; i < 10_000; i++) {
      const next = cron.nextRun(cursor);
      if (!next || next > now) break;
      due.push(next);
      cursor = next;
    }
    if (due.length === 0) return;
    // slots more than a tick or two old were missed while nothing ran
    const missedBefore = now.getTime() - 5000;
    const missed = due.filter((d) => d.getTime() < missedBefore);
    const current = due.filter((d) => d.getTime() >= missedBefore);
    const keep = this.schedule.catchUp === 'all' ? missed : this.schedule.catchUp === 'latest' ? missed.slice(-1) : [];
    this.#history.transaction(() => {
      for (const slot of missed.filter((d) => !keep.includes(d))) this.#insert(entry, slot, 'skipped', `missed while moat was not running (catch-up: ${this.schedule.catchUp})`);
      for (const slot of [...keep, ...current]) {
        if (!inWindow(entry, slot, this.schedule.timezone)) {
          this.#insert(entry, slot, 'skipped', 'outside the entry\'s window');
          continue;
        }
        for (const scenario of entry.scenarios) {
          // a slot that comes due while the same scenario still waits in the queue joins it
          if (this.#queuedFor(entry.name, scenario.file) >= entry.seeds) {
            this.#insert(entry, slot, 'skipped', 'the previous slot of this scenario is still queued', scenario.file);
            continue;
          }
          for (let s = 0; s < entry.seeds; s++) {
            const used = this.#countDay(slot);
            if (used >= this.schedule.runsPerDay) this.#insert(entry, slot, 'skipped', `over the budget of ${this.schedule.runsPerDay} runs a day`, scenario.file);
            else this.#insert(entry, slot, 'queued', keep.includes(slot) ? 'caught up after a restart' : null, scenario.file);
          }
        }
      }
      this.#history.db.prepare(Q.updateSlot).run(due[due.length - 1]!.toISOString(), entry.name);
    });
  }

  #queuedFor(schedule: string, scenarioFile: string): number {
    return Number((this.#history.db.prepare(Q.queuedFor).get(schedule, scenarioFile) as Row).n);
  }

  #countDay(slot: Date): number {
    const day = new Date(Date.UTC(slot.getUTCFullYear(), slot.getUTCMonth(), slot.getUTCDate()));
    const next = new Date(day.getTime() + 86_400_000);
    return Number((this.#history.db.prepare(Q.countDay).get(day.toISOString(), next.toISOString()) as Row).n);
  }

  #insert(entry: ScheduleEntry, slot: Date, state: QueueState, detail: string | null, scenarioFile = entry.scenarios[0]?.file ?? ''): number {
    const id = Number((this.#history.db.prepare(Q.maxId).get() as Row).id ?? 0) + 1;
    this.#history.db.prepare(Q.insert).run(id, entry.name, scenarioFile, randomInt(0, 2 ** 32), slot.toISOString(), state, detail);
    return id;
  }

  /** Queues a scenario of the schedule to run now (the dashboard's "run now"). */
  enqueueNow(scenarioFile: string): QueueItem {
    const entry = this.schedule.entries.find((e) => e.scenarios.some((s) => s.file === scenarioFile));
    if (!entry) throw new Error(`${scenarioFile} is not a scenario of this schedule`);
    const id = this.#history.transaction(() => this.#insert(entry, this.#now(), 'queued', 'run now, from the dashboard', scenarioFile));
    this.#changed(id);
    setImmediate(() => this.tick());
    return this.item(id)!;
  }

  #runNext(): void {
    const next = (this.#history.db.prepare(Q.byState).all('queued') as Row[]).map(toItem)[0];
    if (!next) return;
    this.#history.db.prepare(Q.start).run('running', this.#now().toISOString(), next.id);
    this.#changed(next.id);
    const abort = new AbortController();
    const done = (async () => {
      let state: QueueState = 'done';
      let detail: string | null = null;
      try {
        const journal = await this.#execute(next, abort.signal, ({ runId, runDir }) => {
          this.#history.db.prepare(Q.started).run(runId, runDir, next.id);
          this.#changed(next.id);
        });
        state = journal.status === 'completed' ? 'done' : journal.status === 'interrupted' ? 'interrupted' : 'failed';
        detail = `${journal.status}, ${journal.verdict?.passed ? 'passed' : 'failed'}`;
      } catch (error) {
        state = 'failed';
        detail = errorMessage(error);
      }
      this.#history.db.prepare(Q.finish).run(state, this.#now().toISOString(), detail, next.id);
      this.#changed(next.id);
      this.#running = undefined;
      if (!this.#stopped) setImmediate(() => this.tick());
    })();
    this.#running = { item: next, abort, done };
  }

  pause(): void {
    this.#paused = true;
  }

  resume(): void {
    this.#paused = false;
    setImmediate(() => this.tick());
  }

  status(count = 5): SchedulerStatus {
    const now = this.#now();
    const next = this.schedule.entries.flatMap((entry) => this.#crons.get(entry.name)!.nextRuns(count, now).map((at) => ({ schedule: entry.name, at: at.toISOString(), scenarios: entry.scenarios.map((s) => s.name) })))
      .sort((a, b) => a.at.localeCompare(b.at)).slice(0, count);
    return {
      running: this.#running ? this.item(this.#running.item.id) : undefined,
      queued: (this.#history.db.prepare(Q.byState).all('queued') as Row[]).map(toItem),
      next,
      paused: this.#paused,
    };
  }

  recent(limit = 50): QueueItem[] {
    return (this.#history.db.prepare(Q.recent).all(limit) as Row[]).map(toItem);
  }

  /** Stops ticking; a run in progress is told to stop (faults healed, twin torn down) and awaited. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearInterval(this.#timer);
    if (this.#running) {
      this.#running.abort.abort();
      await this.#running.done;
    }
  }
}
