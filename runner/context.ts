import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { randomBytes, randomInt } from 'node:crypto';
import type { Span } from '@opentelemetry/api';
import { MoatError, errorMessage } from '../core/errors.ts';
import { describeLeaderChange, type Activity, type Journal, type LeaderChangeEvent, type ConfigWriteEvent, type RunPhase, type RunStatus, type TimelineEvent } from '../core/journal.ts';
import { SeededRandom } from '../core/random.ts';
import { ResourceLedger } from '../core/resources.ts';
import type { Scenario } from '../core/scenario.ts';
import type { ActiveFault } from '../injectors/index.ts';
import type { Load, LoadResult } from '../load/index.ts';
import { RunTrace, SeriesStore, type AlertmanagerServer, type MetricsExporter, type OtlpReceiver, type PrometheusServer, type Scraper, type WebhookReceiver } from '../observe/index.ts';
import type { BpfObserver } from '../bpf/index.ts';
import { twinUp as realTwinUp, type StartedTwin, type TwinOptions } from '../twin/index.ts';
import { realClock, type Clock } from './clock.ts';
import { fanOut, type RunObserver } from './observers.ts';
import { describePlan } from './plan.ts';
import { MOAT_VERSION } from './versions.ts';
import { JournalWriter } from './journal-writer.ts';

export interface RunOptions {
  scenarioFile: string;
  /** the parent folder; the run gets its own folder inside */
  outDir: string;
  cleanupStale?: boolean;
  /** overrides the scenario's seed */
  seed?: number;
  stateDir?: string;
  observers?: RunObserver[];
  /** abort from outside (tests); SIGINT and SIGTERM do the same */
  signal?: AbortSignal;
  /** grace after heal during which an alarm still counts as a detection */
  graceMs?: number;
  /** builds the twin (tests pass a fake twin); default: the real one */
  twinUp?: (twin: Scenario['twin'], options: TwinOptions) => Promise<StartedTwin>;
  /** the run clock (tests pass a fake clock); default: the real one */
  clock?: Clock;
  /** called once the run has its id and folder (and journal.json there), before anything starts */
  onStart?: (run: { runId: string; runDir: string }) => void;
}

/** Ends the run the way Ctrl-C does: faults healed, twin torn down, journal written. */
export class Interrupted extends MoatError {
  override name = 'Interrupted';
}

/** Where the run's team alerting lives while it runs (runner/phases/alerts.ts starts and stops it). */
export interface Alerting {
  prometheus: PrometheusServer;
  exporter: MetricsExporter;
  alertmanager?: AlertmanagerServer;
  webhook?: WebhookReceiver;
  dataDirs: string[];
}

/**
 * Everything one run holds, passed from phase to phase: the scenario and seed, the journal, the
 * clock, the ledger, the series store, and what each phase started (the twin, loads, observers)
 * so that teardown can stop it whatever happened. The journal is written at every phase.
 */
export class RunContext {
  readonly scenario: Scenario;
  readonly options: RunOptions;
  readonly runId: string;
  readonly runDir: string;
  readonly logDir: string;
  readonly seed: number;
  readonly random: SeededRandom;
  readonly journal: Journal;
  readonly clock: Clock;
  readonly notify: Required<RunObserver>;
  readonly trace: RunTrace;
  readonly store = new SeriesStore();
  readonly abort = new AbortController();
  readonly ledger: ResourceLedger;
  readonly startedAt = new Date();
  readonly faultSpans = new Map<string, Span>();

  /** what the phases started, for teardown */
  twin: StartedTwin | undefined;
  readonly loads: Load[] = [];
  readonly loadResults: LoadResult[] = [];
  readonly active = new Map<string, ActiveFault>();
  scraper: Scraper | undefined;
  bpf: BpfObserver | undefined;
  otlp: OtlpReceiver | undefined;
  readonly stops: (() => Promise<void>)[] = [];
  /** the team's alerting (a real Prometheus, maybe an Alertmanager), when the scenario has `alerts:` */
  alerting: Alerting | undefined;
  /** what Alertmanager delivered to moat's webhook, on the run clock */
  alertNotifications: { alert: string; status: 'firing' | 'resolved'; t: number }[] = [];
  readonly leaderAgreedAt: { t: number; agreed: boolean }[] = [];

  readonly #writer: JournalWriter;
  readonly #unlisten: () => void;

  private constructor(scenario: Scenario, options: RunOptions) {
    this.scenario = scenario;
    this.options = options;
    this.runId = randomBytes(3).toString('hex');
    const stamp = this.startedAt.toISOString().replace(/[-:]/g, '').replace(/\..*/, '').replace('T', '-');
    this.runDir = resolve(options.outDir, `${scenario.name}-${stamp}-${this.runId}`);
    this.logDir = join(this.runDir, 'logs');
    mkdirSync(this.logDir, { recursive: true });
    this.seed = options.seed ?? scenario.seed ?? randomInt(2 ** 32);
    this.random = new SeededRandom(this.seed);
    this.clock = options.clock ?? realClock();
    this.journal = newJournal(this, options);
    this.#writer = new JournalWriter(this.runDir, this.journal);
    this.notify = fanOut([this.#writer.observer(), ...(options.observers ?? [])]);
    this.trace = new RunTrace({ 'moat.scenario': scenario.name, 'moat.seed': this.seed, 'moat.run_id': this.runId, 'moat.version': MOAT_VERSION });
    this.journal.trace.exported = this.trace.exporting;
    this.ledger = ResourceLedger.open(this.runId, { ...(options.stateDir ? { stateDir: options.stateDir } : {}), runDir: this.runDir });
    this.#unlisten = this.#listen();
  }

  /** Opens a run: its folder, ledger and journal (written at once, so even a crash now leaves one). */
  static open(scenario: Scenario, options: RunOptions): RunContext {
    const run = new RunContext(scenario, options);
    run.enter('validate', `${scenario.name}, seed ${run.seed}`);
    options.onStart?.({ runId: run.runId, runDir: run.runDir });
    return run;
  }

  get twinUp(): (twin: Scenario['twin'], options: TwinOptions) => Promise<StartedTwin> {
    return this.options.twinUp ?? realTwinUp;
  }

  /** The twin, once the twin phase has built it. */
  get startedTwin(): StartedTwin {
    if (!this.twin) throw new MoatError('the twin is not up');
    return this.twin;
  }

  /** ms since the run clock's zero */
  now(): number {
    return this.clock.now();
  }

  /** A phase begins: the journal says so (and is written), observers hear of it. */
  enter(phase: RunPhase, detail: string): void {
    this.journal.phase = phase;
    this.notify.phase(phase, detail);
  }

  /** Throws the abort's reason once the run was told to stop. */
  checkAbort(): void {
    if (this.abort.signal.aborted) throw this.abort.signal.reason;
  }

  /** Sleeps until run time `t`; an interrupt ends the sleep and throws. */
  async sleepUntil(t: number): Promise<void> {
    await this.clock.sleepUntil(t, this.abort.signal);
    this.checkAbort();
  }

  /** Ends the run early: faults are healed and the twin torn down by the phases that follow. */
  stop(reason: unknown): void {
    if (!this.abort.signal.aborted) this.abort.abort(reason);
  }

  /** One step, timed, in the journal and as a span (under `parent`, or the run). */
  async activity<T>(name: string, work: () => Promise<T>, options: { output?: (value: T) => unknown; parent?: Span | undefined } = {}): Promise<T> {
    const start = new Date();
    const record: Activity = { name, start: start.toISOString(), end: '', durationMs: 0, status: 'succeeded' };
    this.journal.activities.push(record);
    const span = this.trace.start(name, { 'moat.activity': name }, options.parent ?? this.trace.root);
    try {
      const value = await work();
      if (options.output) record.output = options.output(value);
      return value;
    } catch (error) {
      record.status = 'failed';
      record.error = errorMessage(error);
      RunTrace.fail(span, error);
      throw error;
    } finally {
      const end = new Date();
      record.end = end.toISOString();
      record.durationMs = end.getTime() - start.getTime();
      span.end();
    }
  }

  /** Something happened on the run clock. */
  record(kind: Exclude<TimelineEvent['kind'], 'leader-change' | 'config-write'>, detail: string): void {
    this.#push({ t: Math.round(this.now()), kind, detail });
  }

  recordLeaderChange(change: Omit<LeaderChangeEvent, 't' | 'kind' | 'detail'>): void {
    this.#push({ t: Math.round(this.now()), kind: 'leader-change', detail: describeLeaderChange(change), ...change });
  }

  recordConfigWrite(write: Omit<ConfigWriteEvent, 't' | 'kind'>): void {
    this.#push({ t: Math.round(this.now()), kind: 'config-write', ...write });
  }

  #push(event: TimelineEvent): void {
    this.journal.timeline.push(event);
    this.notify.event(event);
  }

  /** The run's status once it ended: interrupted by a signal, failed on an error, or completed. */
  fail(error: unknown): void {
    this.journal.status = error instanceof Interrupted ? 'interrupted' : 'failed';
    this.journal.error = errorMessage(error);
  }

  /** Writes the journal as it is now (at every phase, and at the end). */
  writeJournal(): void {
    this.#writer.write();
  }

  close(status: RunStatus): void {
    this.#unlisten();
    this.journal.status = status;
  }

  /**
   * SIGINT and SIGTERM end the run the way an interrupt does; an error nothing else caught (a
   * bug, a library's stray rejection) must not end the process with faults in place either.
   */
  #listen(): () => void {
    const onSignal = (signal: NodeJS.Signals) => {
      if (this.abort.signal.aborted) {
        process.stderr.write(`moat: ${signal} again: still healing faults and tearing down; please wait\n`);
        return;
      }
      this.notify.phase('interrupted', `${signal}: healing faults and tearing down`);
      this.stop(new Interrupted(`interrupted by ${signal}`));
    };
    const onExternalAbort = () => onSignal('SIGTERM');
    let strayErrors = 0;
    const onStrayError = (error: unknown) => {
      // said once: a second stray error (e.g. from the report of the first) must not loop
      if (strayErrors++ === 0) {
        try {
          process.stderr.write(`moat: unexpected error during the run: ${errorMessage(error)}; healing faults and tearing down\n`);
        } catch {
          // nowhere to say it; the journal will
        }
      }
      this.stop(new MoatError(`unexpected error: ${errorMessage(error)}`, { cause: error }));
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    process.on('uncaughtException', onStrayError);
    process.on('unhandledRejection', onStrayError);
    this.options.signal?.addEventListener('abort', onExternalAbort);
    return () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      process.off('uncaughtException', onStrayError);
      process.off('unhandledRejection', onStrayError);
      this.options.signal?.removeEventListener('abort', onExternalAbort);
    };
  }
}

function newJournal(run: RunContext, options: RunOptions): Journal {
  const { scenario } = run;
  return {
    moatVersion: MOAT_VERSION, runId: run.runId, scenarioFile: options.scenarioFile, scenario, scenarioName: scenario.name,
    ...(scenario.description ? { description: scenario.description.trim() } : {}),
    seed: run.seed, status: 'running', phase: 'validate', startedAt: run.startedAt.toISOString(), endedAt: '', clockZero: null, durationMs: 0, runDir: run.runDir,
    versions: {}, bpf: { enabled: false, probes: scenario.observe.bpf }, trace: { file: 'otel-trace.json', spans: 0, exported: false },
    otlp: { url: null, spans: 0, errorSpans: 0, droppedSpans: 0, metricPoints: 0 }, plan: describePlan(scenario), activities: [], faults: [], timeline: [], randomChoices: run.random.choices,
    series: { file: 'series.jsonl', count: 0, watched: [] }, warmupEndsAt: scenario.faults.reduce((min, f) => Math.min(min, f.atMs), Infinity), runEndsAt: null,
    detectors: scenario.baseline.detectors.map((d) => d.name), detectorErrors: [], baselineSources: [], graceMs: options.graceMs ?? 5000,
    alarms: [], detections: [], seriesDetections: [], falseAlarms: [], detectorScores: [], load: [], gates: [],
    verdict: { passed: false, reasons: [] }, cleanup: { ok: true, leftovers: [] },
  };
}
