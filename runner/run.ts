import { mkdirSync, realpathSync } from 'node:fs';
import { which } from '../core/exec.ts';
import { basename, join, resolve } from 'node:path';
import { randomBytes, randomInt } from 'node:crypto';
import { InvalidScenarioError, MoatError, StaleLedgerError, errorMessage } from '../core/errors.ts';
import { writeJournal } from '../core/journal-file.ts';
import { SeededRandom } from '../core/random.ts';
import { formatMs, signedMs, sleep } from '../core/units.ts';
import { seriesLabel, type Series } from '../core/series.ts';
import { describeLeaderChange, type Activity, type FaultRecord, type Journal, type LeaderChangeEvent, type RunStatus, type TimelineEvent } from '../core/journal.ts';
import { injectorFor, isVerifiable, type ActiveFault, type InjectionContext } from '../injectors/index.ts';
import { twinUp, ETCD_CLIENT_PORT, EtcdCluster, AppService, OTLP_PORT, RESOURCE_HANDLERS, envReferences, type StartedTwin } from '../twin/index.ts';
import { HttpLoad } from '../load/http.ts';
import { ETCD_METRICS } from '../twin/services/etcd.ts';
import { EtcdKvLoad } from '../load/etcd-kv.ts';
import { KafkaLoad } from '../load/kafka.ts';
import type { Load, LoadResult } from '../load/types.ts';
import { SeriesStore } from '../observe/series-store.ts';
import { Scraper, type ScrapeTarget } from '../observe/scraper.ts';
import { runDetectors, scoreAlarms, describeDetector, splitAt } from '../detect/index.ts';
import { earlierWarmups, loadImports, trainingFor } from '../detect/baselines.ts';
import { readSeriesImport } from '../detect/import.ts';
import { matchesSeries } from '../detect/static.ts';
import { shapeRate } from '../load/shape.ts';
import { ResourceLedger, readLedgerFile, runCleanup, staleLedgers } from '../core/resources.ts';
import { resolveTarget } from './targets.ts';
import { ActuationLead } from './lead.ts';
import { BpfObserver, bpfAvailability } from '../bpf/index.ts';
import { RunTrace } from '../observe/run-trace.ts';
import { OtlpReceiver } from '../observe/otlp-receiver.ts';
import type { Span } from '@opentelemetry/api';
import { fanOut, type RunObserver } from './observers.ts';
import { electionsAfterHeal, evaluateGates, firstLeaderChange, recoveryAfter, summarizeLoad } from './analyze.ts';
import { collectVersions, MOAT_VERSION } from './versions.ts';
import type { Scenario } from './scenario/index.ts';

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
}

/** The plan a run follows, one line per step: what `moat run --dry-run` prints. */
export function describePlan(scenario: Scenario): string[] {
  const lines = [
    `twin (${scenario.twin.backend}): ${scenario.twin.services.map((s) => `${s.name} = ${s.replicas} x ${s.kind} (${s.kind === 'kafka'
      ? `KRaft brokers+controllers; topics ${s.topics.map((t) => `${t.name} ${t.partitions}p rf ${t.replicationFactor} min.isr ${t.minInsyncReplicas}`).join(', ') || 'none'}`
      : s.kind === 'etcd' ? `heartbeat ${s.heartbeatMs} ms, election ${s.electionMs} ms${s.preVote ? ', pre-vote' : ''}`
      : s.kind === 'redis' ? 'redis-server, no persistence'
      : `${s.app ? `moat's ${s.app} service` : s.command!.join(' ')} on :${s.port}${s.links.length ? `, links through Toxiproxy to ${s.links.join(', ')}` : ''}`})`).join('; ')}`,
    ...scenario.load.map((l) => l.kind === 'kafka'
      ? `load ${l.name}: kafka producer (acks=all, idempotent) on ${l.target} topic ${l.topic} at ${l.ratePerSec}/s open-model, ${l.messageBytes} B messages, delivery timeout ${formatMs(l.timeoutMs)}; consumer group on the same topic`
      : l.kind === 'http' ? `load ${l.name}: http on ${l.target} at ${l.ratePerSec}/s open-model (${l.requests.map((r) => `${r.name} x${r.weight}`).join(', ')}), timeout ${formatMs(l.timeoutMs)}`
      : `load ${l.name}: ${l.kind} on ${l.target} at ${l.ratePerSec}/s open-model${l.shape ? ` (mean; shape replayed ${l.shape.speedup}x from ${l.shape.file})` : ''} (put ${l.mix.put}, get ${l.mix.get}), timeout ${formatMs(l.timeoutMs)}, ${l.client.balance === 'leader' ? 'to the leader' : 'round-robin over the members'}${l.client.requireLeader ? ', require-leader' : ''}`),
    `observe: Prometheus scrape of ${scenario.observe.prometheus.join(', ') || 'nothing'} every ${formatMs(scenario.observe.intervalMs)}; leader polled every 200 ms; eBPF probes: ${scenario.observe.bpf.join(', ') || 'none'}`,
    `warm-up: ${formatMs(scenario.baseline.warmupMs)}, detectors fitted on it: ${scenario.baseline.detectors.map(describeDetector).join('; ')}`,
    ...(scenario.baseline.sources.runs ? [`baseline also from the warm-ups of the last ${scenario.baseline.sources.runs.last} completed runs in ${scenario.baseline.sources.runs.dir}`] : []),
    ...(scenario.baseline.sources.imports ?? []).map((i) => `baseline for ${i.series} imported from ${i.file}${i.scale === 1 ? '' : ` x ${i.scale}`}`),
    ...scenario.faults.map((f) => injectorFor(f).describe(f)),
    `recovery: ${formatMs(scenario.recoveryMs)} after the last heal, then every acknowledged write${scenario.load.some((l) => l.kind === 'kafka') ? ' and message' : ''} is read back`,
    ...scenario.gates.map((g) => `gate ${g.selector.source}: ${g.thresholds.map((t) => t.source).join(', ')}`),
  ];
  return lines;
}

/**
 * Every `${VAR}` an app's env refers to must be set in moat's environment before anything starts.
 * The values stay out of the journal: it keeps the scenario as written, with `${VAR}`.
 */
export function checkEnvironment(scenario: Scenario, file: string, env: NodeJS.ProcessEnv = process.env): void {
  const problems = scenario.twin.services.flatMap((service) => service.kind !== 'app' ? [] : Object.entries(service.env).flatMap(([key, value]) =>
    envReferences({ [key]: value }).filter((name) => env[name] === undefined).map((name) => ({ path: `twin.services.${service.name}.env.${key}`, message: `refers to \${${name}}, which is not set in moat's environment` }))));
  if (problems.length > 0) throw new InvalidScenarioError(file, problems);
}

/** When the last fault heals plus the recovery window: the length of the observed run. */
export function runLengthMs(scenario: Scenario): number {
  return Math.max(scenario.baseline.warmupMs, ...scenario.faults.map((f) => f.atMs + f.durationMs)) + scenario.recoveryMs;
}

class Interrupted extends MoatError {
  override name = 'Interrupted';
}

/** The series the detectors watch unless the scenario names its own. */
const KEY_SERIES = new Set([
  'load_error_ratio', 'load_latency_p99_ms',
  'etcd_server_has_leader', 'etcd_server_leader_changes_seen_total:rate', 'etcd_server_proposals_failed_total:rate',
  'kafka_under_replicated_partitions', 'kafka_offline_partitions', 'kafka_consumer_lag',
  'ledger_breaker_state', 'ledger_shed_total:rate',
]);

/** What moat scrapes from an app's /metrics (moat's ledger names; a user's app may expose any of them). */
const APP_METRICS = {
  gauges: ['ledger_breaker_state', 'go_memstats_heap_inuse_bytes', 'go_goroutines'],
  counters: [{ name: 'ledger_requests_total', by: ['route', 'code'] }, { name: 'ledger_shed_total', by: ['dependency'] }, { name: 'ledger_dependency_errors_total', by: ['dependency'] }],
  histograms: [{ name: 'ledger_request_duration_seconds', by: ['route'] }, { name: 'ledger_dependency_duration_seconds', by: ['dependency'] }],
} as const;

function watched(series: Series, patterns: readonly string[] | undefined): boolean {
  if (patterns) return patterns.some((p) => matchesSeries(series, p));
  return KEY_SERIES.has(series.name) && (series.labels.op === undefined || series.labels.op === 'all');
}

/**
 * One chaos run, top to bottom: twin up → observe and load → warm-up → faults on schedule (each
 * injected, verified, healed) → recovery → read-back → teardown (always) → detection, gates and
 * the journal (always). Faults are healed and the twin torn down on error, SIGINT and SIGTERM.
 */
export async function runScenario(scenario: Scenario, options: RunOptions): Promise<Journal> {
  checkEnvironment(scenario, options.scenarioFile);
  const runId = randomBytes(3).toString('hex');
  const startedAt = new Date();
  const runDir = resolve(options.outDir, `${scenario.name}-${startedAt.toISOString().replace(/[-:]/g, '').replace(/\..*/, '').replace('T', '-')}-${runId}`);
  const logDir = join(runDir, 'logs');
  mkdirSync(logDir, { recursive: true });
  const seed = options.seed ?? scenario.seed ?? randomInt(2 ** 32);
  const random = new SeededRandom(seed);
  const notify = fanOut(options.observers ?? []);
  const journal: Journal = {
    moatVersion: MOAT_VERSION, runId, scenarioFile: options.scenarioFile, scenario, scenarioName: scenario.name,
    ...(scenario.description ? { description: scenario.description.trim() } : {}),
    seed, status: 'completed', startedAt: startedAt.toISOString(), endedAt: '', clockZero: null, durationMs: 0, runDir,
    versions: {}, bpf: { enabled: false, probes: scenario.observe.bpf }, trace: { file: 'otel-trace.json', spans: 0, exported: false }, otlp: { url: null, spans: 0, errorSpans: 0, droppedSpans: 0, metricPoints: 0 }, plan: describePlan(scenario), activities: [], faults: [], timeline: [], randomChoices: random.choices,
    series: { file: 'series.jsonl', count: 0, watched: [] }, warmupEndsAt: scenario.faults.reduce((min, f) => Math.min(min, f.atMs), Infinity), runEndsAt: null,
    detectors: scenario.baseline.detectors.map((d) => d.name), detectorErrors: [], baselineSources: [], graceMs: options.graceMs ?? 5000,
    alarms: [], detections: [], seriesDetections: [], falseAlarms: [], detectorScores: [], load: [], gates: [],
    verdict: { passed: false, reasons: [] }, cleanup: { ok: true, leftovers: [] },
  };
  const runTrace = new RunTrace({ 'moat.scenario': scenario.name, 'moat.seed': seed, 'moat.run_id': runId, 'moat.version': MOAT_VERSION });
  journal.trace.exported = runTrace.exporting;
  const faultSpans = new Map<string, Span>();
  const activity = async <T>(name: string, work: () => Promise<T>, output?: (value: T) => unknown): Promise<T> => {
    const start = new Date();
    const record: Activity = { name, start: start.toISOString(), end: '', durationMs: 0, status: 'succeeded' };
    journal.activities.push(record);
    // inject, verify and heal nest under their fault's span; everything else under the run
    const faultId = /^(?:inject|verify|heal) (\S+)/.exec(name)?.[1];
    const span = runTrace.start(name, { 'moat.activity': name }, (faultId && faultSpans.get(faultId)) || runTrace.root);
    try {
      const value = await work();
      if (output) record.output = output(value);
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
  };

  // Refuse to run over the remains of a crashed run unless told to clean them first.
  const stale = staleLedgers(options.stateDir);
  if (stale.length > 0) {
    if (!options.cleanupStale) {
      await runTrace.finish(join(runDir, journal.trace.file), 'aborted').catch(() => 0);
      throw new StaleLedgerError(`a crashed run left resources behind (${stale.map((l) => `run ${l.runId}: ${l.outstanding.length} resources`).join('; ')}); run \`moat cleanup\` or pass --cleanup-stale`);
    }
    await activity('cleanup-stale', async () => Promise.all(stale.map((l) => runCleanup(l, RESOURCE_HANDLERS))), (steps) => steps.flat());
  }

  const abort = new AbortController();
  let status: RunStatus = 'completed';
  const onSignal = (signal: NodeJS.Signals) => {
    if (abort.signal.aborted) {
      process.stderr.write(`moat: ${signal} again: still healing faults and tearing down; please wait\n`);
      return;
    }
    status = 'interrupted';
    notify.phase('interrupted', `${signal}: healing faults and tearing down`);
    abort.abort(new Interrupted(`interrupted by ${signal}`));
  };
  const onExternalAbort = () => onSignal('SIGTERM');
  // The last resort: an error nothing else caught (a bug, a library's stray rejection) must not
  // end the process with faults in place. It ends the run instead, which heals and tears down.
  const onStrayError = (error: unknown) => {
    process.stderr.write(`moat: unexpected error during the run: ${errorMessage(error)}; healing faults and tearing down\n`);
    if (!abort.signal.aborted) abort.abort(new MoatError(`unexpected error: ${errorMessage(error)}`, { cause: error }));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('uncaughtException', onStrayError);
  process.on('unhandledRejection', onStrayError);
  options.signal?.addEventListener('abort', onExternalAbort);

  const ledger = ResourceLedger.open(runId, { ...(options.stateDir ? { stateDir: options.stateDir } : {}), runDir });
  const store = new SeriesStore();
  let clockZeroMs = 0;
  const now = () => performance.now() - clockZeroMs;
  const push = (event: TimelineEvent) => {
    journal.timeline.push(event);
    notify.event(event);
  };
  const record = (kind: Exclude<TimelineEvent['kind'], 'leader-change'>, detail: string) => push({ t: Math.round(now()), kind, detail });
  const recordLeaderChange = (change: Omit<LeaderChangeEvent, 't' | 'kind' | 'detail'>) => push({ t: Math.round(now()), kind: 'leader-change', detail: describeLeaderChange(change), ...change });
  const active = new Map<string, ActiveFault>();
  const loads: Load[] = [];
  const loadResults: LoadResult[] = [];
  let twin: StartedTwin | undefined;
  let scraper: Scraper | undefined;
  let bpf: BpfObserver | undefined;
  let otlp: OtlpReceiver | undefined;
  let stopLeaderPoll: (() => Promise<void>) | undefined;
  const stopServiceObservers: (() => Promise<void>)[] = [];
  let tickTimer: NodeJS.Timeout | undefined;
  const leaderAgreedAt: { t: number; agreed: boolean }[] = [];
  const leads = new Map<string, { inject: ActuationLead; heal: ActuationLead }>();

  const checkAbort = () => {
    if (abort.signal.aborted) throw abort.signal.reason;
  };
  const sleepUntil = async (t: number) => {
    const wait = t - now();
    if (wait > 0) await sleep(wait, abort.signal);
    checkAbort();
  };

  try {
    journal.versions = await collectVersions();
    notify.phase('twin-up', describePlan(scenario)[0]!);
    twin = await activity('twin-up', () => twinUp(scenario.twin, { runId, ledger, logDir }), (t) => ({ hosts: [...t.hosts.values()].map((h) => ({ name: h.name, ip: h.ip, netns: h.netns })) }));
    checkAbort();
    const startedTwin = twin;
    for (const process of twin.network.processes) {
      void process.exited.then((code) => {
        if (!process.stopping) record('process-exit', `${process.name} exited unexpectedly with ${code} (log: ${process.logFile})`);
      });
    }

    if (scenario.observe.bpf.length > 0) {
      const availability = await bpfAvailability();
      if (!availability.ok) {
        journal.bpf.reason = availability.reason;
        notify.phase('bpf', `eBPF probes skipped: ${availability.reason}`);
      } else {
        const hostOfIp = new Map<string, string>([[startedTwin.network.gateway, 'moat'], ...[...startedTwin.hosts.values()].map((h): [string, string] => [h.ip, h.name])]);
        const hostOfPid = new Map(startedTwin.network.processes.map((p) => [p.pid, p.host]));
        const goBinaries = await goBinariesOf(scenario);
        try {
          bpf = await activity('bpf-attach', () => BpfObserver.start({
            probes: scenario.observe.bpf, intervalMs: scenario.observe.intervalMs, comms: [...new Set(scenario.twin.services.map(processName))],
            goBinaries,
            ledger, dir: join(runDir, 'bpf'), now, store, hostOfIp: (ip) => hostOfIp.get(ip), hostOfPid: (pid) => hostOfPid.get(pid),
            onEvent: (detail) => record('process-exit', detail),
          }));
          journal.bpf = { enabled: true, probes: scenario.observe.bpf, attachedProbes: await bpf.attached };
        } catch (error) {
          journal.bpf.reason = errorMessage(error);
          notify.phase('bpf', `eBPF probes failed to start: ${journal.bpf.reason}`);
        }
      }
    }

    // twin services send their telemetry here (OTEL_EXPORTER_OTLP_ENDPOINT in the twin)
    otlp = await activity('otlp-receiver', () => OtlpReceiver.start({ host: startedTwin.network.gateway, port: OTLP_PORT, store, epochMs: () => (journal.clockZero ? Date.parse(journal.clockZero) : Date.now()) }), (r) => ({ url: r.url }));
    journal.otlp.url = otlp.url;

    // t = 0: the twin is ready; observation and load begin.
    clockZeroMs = performance.now();
    journal.clockZero = new Date().toISOString();
    // Prometheus scrapes the services that serve /metrics (etcd); Kafka is polled through its admin API
    const targets: ScrapeTarget[] = scenario.observe.prometheus.flatMap((name): ScrapeTarget[] => {
      const service = startedTwin.service(name);
      if (service instanceof EtcdCluster) return service.members.map((m) => ({ url: `${m.clientUrl}/metrics`, labels: { service: name, member: m.name }, select: ETCD_METRICS }));
      if (service instanceof AppService) return [{ url: `${service.url}/metrics`, labels: { service: name, member: service.members[0]!.name }, select: APP_METRICS }];
      return [];
    });
    scraper = new Scraper(targets, store, now);
    scraper.start(scenario.observe.intervalMs);
    stopLeaderPoll = pollLeaders(startedTwin, now, (service, from, to, term) => recordLeaderChange({ service, from, to, term }), (t, agreed) => leaderAgreedAt.push({ t, agreed }), store);
    for (const service of startedTwin.services.values()) {
      const stop = service.observe?.({ store, now, intervalMs: scenario.observe.intervalMs, leaderChange: recordLeaderChange });
      if (stop) stopServiceObservers.push(stop);
    }
    const clockZeroEpochMs = Date.parse(journal.clockZero);
    const createLoad = (spec: Scenario['load'][number]): Load => {
      const random = new SeededRandom(seed ^ hashString(spec.name));
      switch (spec.kind) {
        case 'http':
          return new HttpLoad({ spec, baseUrl: startedTwin.app(spec.target).url, random, now });
        case 'kafka': {
          const kafka = startedTwin.kafka(spec.target);
          const partitions = kafka.spec.topics.find((t) => t.name === spec.topic)!.partitions;
          return new KafkaLoad({ spec, install: kafka.install, bootstrap: kafka.bootstrap, partitions, runId, clockZeroEpochMs, runDir, ledger });
        }
        case 'etcd-kv':
          return new EtcdKvLoad({
            spec, endpoints: startedTwin.service(spec.target).members.map((m) => `http://${m.ip}:${ETCD_CLIENT_PORT}`),
            runId, random, now, ackFile: join(runDir, `acked-writes-${spec.name}.jsonl`),
            ...(spec.shape ? { rateAt: replayedShape(spec) } : {}),
          });
      }
    };
    for (const spec of scenario.load) {
      const load = createLoad(spec);
      loads.push(load);
      load.start();
    }
    const runEnd = runLengthMs(scenario);
    journal.runEndsAt = runEnd;
    tickTimer = setInterval(() => notify.tick(now(), tickState(now(), scenario, journal.faults, runEnd)), 1000);

    notify.phase('warm-up', `${formatMs(scenario.baseline.warmupMs)} of steady state before the first fault`);
    const faultTasks = scenario.faults.map(async (spec, faultIndex) => {
      const fault: FaultRecord = {
        id: spec.id, type: spec.type, description: injectorFor(spec).describe(spec), service: faultService(spec), target: null, hosts: [],
        scheduledAt: spec.atMs, appliedAt: null, healedAt: null, verified: { ok: false, evidence: [] }, recoveryMs: null,
      };
      journal.faults.push(fault);
      // leads are learnt per kind of action: a pause heals in microseconds, a kill's restart in seconds
      const kind = `${spec.type}:${spec.type === 'process' ? spec.action : spec.type === 'partition' ? spec.mode : spec.service}`;
      const lead = leads.get(kind) ?? { inject: new ActuationLead(15), heal: new ActuationLead(25) };
      leads.set(kind, lead);
      const injectLeadMs = lead.inject.leadMs;
      await sleepUntil(spec.atMs - injectLeadMs);
      const context: InjectionContext = {
        runId, twin: startedTwin, ledger, random, now, faultIndex, intervalMs: scenario.observe.intervalMs, ...(bpf ? { bpf } : {}),
        resolve: (target, what, exclude) => resolveTarget(startedTwin, target, random, what, exclude, (detail, waitedMs) => {
          fault.targetWaitMs = (fault.targetWaitMs ?? 0) + waitedMs;
          record('target-wait', detail);
        }),
      };
      const faultSpan = runTrace.start(`fault ${spec.id}`, { 'moat.fault.id': spec.id, 'moat.fault.type': spec.type, 'moat.fault.scheduled_at_ms': spec.atMs, 'moat.fault.duration_ms': spec.durationMs });
      faultSpans.set(spec.id, faultSpan);
      let injected: ActiveFault;
      const injectStart = now();
      try {
        injected = await activity(`inject ${spec.id}`, () => injectorFor(spec).inject(spec, context), (f) => ({ target: f.target }));
      } catch (error) {
        fault.error = errorMessage(error);
        record('fault-failed', `${spec.id}: ${fault.error}`);
        // one fault that cannot be applied ends the run: the others are cancelled and healed
        if (!abort.signal.aborted) abort.abort(error);
        throw error;
      }
      const appliedAt = injected.appliedAt ?? now();
      lead.inject.observe(appliedAt - injectStart);
      fault.appliedAt = Math.round(appliedAt);
      fault.target = injected.target;
      fault.hosts = [...injected.hosts];
      active.set(spec.id, injected);
      record('fault-applied', `${spec.id} on ${injected.target} (${signedMs(appliedAt - spec.atMs)} from schedule)`);
      notify.phase('fault', `${spec.id} active on ${injected.target} for ${formatMs(spec.durationMs)}`);
      // Verification runs beside the fault and never delays its heal.
      const verification = isVerifiable(injected) ? (async () => {
        await sleepUntil(appliedAt + Math.min(3000, spec.durationMs / 3));
        const evidence = await activity(`verify ${spec.id}`, () => injected.verify());
        fault.verified = { ok: evidence.length > 0 && evidence.every((e) => e.ok), evidence };
        record('fault-verified', `${spec.id}: ${fault.verified.ok ? 'took effect' : 'NOT verified'} (${evidence.filter((e) => e.ok).length}/${evidence.length} checks)`);
      })() : Promise.resolve();
      verification.catch(() => undefined);
      const healLeadMs = Math.min(lead.heal.leadMs, spec.durationMs / 4);
      await sleepUntil(appliedAt + spec.durationMs - healLeadMs);
      const healStart = now();
      await activity(`heal ${spec.id}`, () => injected.heal());
      const healedAt = now();
      lead.heal.observe(healedAt - healStart);
      fault.healedAt = Math.round(healedAt);
      fault.actuation = { injectMs: Math.round(appliedAt - injectStart), injectLeadMs: Math.round(injectLeadMs), healMs: Math.round(healedAt - healStart), healLeadMs: Math.round(healLeadMs) };
      faultSpan.setAttributes({ 'moat.fault.target': injected.target, 'moat.fault.applied_at_ms': fault.appliedAt, 'moat.fault.healed_at_ms': fault.healedAt });
      active.delete(spec.id);
      record('fault-healed', `${spec.id} on ${injected.target}`);
      await verification;
      faultSpan.setAttribute('moat.fault.verified', fault.verified.ok);
      faultSpan.end();
    });
    const settled = await Promise.allSettled(faultTasks);
    const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed) throw failed.reason;

    notify.phase('recovery', `${formatMs(scenario.recoveryMs)} of observation after the last heal`);
    await sleepUntil(runEnd);
    await activity('stop-load', () => Promise.all(loads.map((l) => l.stop())));
    notify.phase('read-back', 'reading every acknowledged write back');
    for (const load of loads) loadResults.push(await activity(`read-back ${load.spec.name}`, () => load.result(), (r) => ({ acked: r.ackedWrites, lost: r.lostWrites })));
  } catch (error) {
    status = error instanceof Interrupted ? 'interrupted' : 'failed';
    journal.error = errorMessage(error);
  } finally {
    // Rollbacks run whatever happened above: heal, stop, tear down, strike off.
    notify.phase('teardown', 'healing faults and stopping the twin');
    clearInterval(tickTimer);
    for (const [id, fault] of active) {
      try {
        await activity(`heal ${id} (teardown)`, () => fault.heal());
        const record = journal.faults.find((f) => f.id === id);
        if (record && record.healedAt === null) record.healedAt = Math.round(now());
        faultSpans.get(id)?.setAttribute('moat.fault.healed_at_ms', record?.healedAt ?? -1);
        faultSpans.get(id)?.end();
      } catch (error) {
        journal.cleanup.ok = false;
        journal.cleanup.leftovers.push(`fault ${id}: ${errorMessage(error)}`);
      }
    }
    await Promise.all(loads.map((l) => l.stop().catch(() => undefined)));
    for (const load of loads) {
      if (!loadResults.some((r) => r.name === load.spec.name)) loadResults.push({ ...(await load.result().catch(() => undefined)) ?? emptyLoadResult(load.spec.name) });
    }
    for (const load of loads) {
      for (const point of load.series()) store.append(point.name, point.labels, point.t, point.v);
      load.close();
    }
    await scraper?.stop();
    await stopLeaderPoll?.();
    await Promise.all(stopServiceObservers.map((stop) => stop()));
    await bpf?.stop().catch((error) => journal.cleanup.leftovers.push(`bpftrace: ${errorMessage(error)}`));
    if (otlp) {
      otlp.spanSeries();
      journal.otlp = { url: otlp.url, spans: otlp.spans.length, errorSpans: otlp.spans.filter((s) => s.error).length, droppedSpans: otlp.droppedSpans, metricPoints: otlp.metricPoints };
      await otlp.close();
    }
    if (twin) {
      const started = twin;
      await activity('twin-down', () => started.down()).catch((error) => journal.cleanup.leftovers.push(`twin: ${errorMessage(error)}`));
    }
    if (!ledger.close()) {
      // whatever the orderly teardown missed, the ledger still lists: undo it from there
      const steps = await runCleanup(readLedgerFile(ledger.file), RESOURCE_HANDLERS);
      const left = steps.filter((s) => !s.ok);
      journal.cleanup.ok = left.length === 0;
      journal.cleanup.leftovers.push(...left.map((s) => `${s.key}: ${s.detail}`));
    }
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    process.off('uncaughtException', onStrayError);
    process.off('unhandledRejection', onStrayError);
    options.signal?.removeEventListener('abort', onExternalAbort);
  }

  notify.phase('analysis', 'detection, scores and gates');
  journal.status = status;
  await analyze(journal, scenario, store, loadResults, leaderAgreedAt);
  const endedAt = new Date();
  journal.endedAt = endedAt.toISOString();
  journal.durationMs = endedAt.getTime() - startedAt.getTime();
  for (const detection of journal.detections) {
    const span = runTrace.start(`detect ${detection.faultId} ${detection.detector}`, {
      'moat.fault.id': detection.faultId, 'moat.detector': detection.detector, 'moat.detected': detection.ttdMs !== null,
      ...(detection.ttdMs === null ? {} : { 'moat.ttd_ms': detection.ttdMs, 'moat.series': detection.series ?? '' }),
    });
    span.end();
  }
  journal.trace.spans = await runTrace.finish(join(runDir, journal.trace.file), journal.status).catch(() => 0);
  store.writeJsonLines(join(runDir, journal.series.file));
  writeJournal(runDir, journal);
  notify.end(journal.status);
  return journal;
}

function replayedShape(spec: Extract<Scenario['load'][number], { kind: 'etcd-kv' }>): (tMs: number) => number {
  const shape = spec.shape!;
  const imported = readSeriesImport(shape.file).series;
  const series = shape.series === undefined ? imported[0]! : imported.find((s) => matchesSeries(s, shape.series!))!;
  return shapeRate(series, spec.ratePerSec, shape.speedup);
}

/** The kernel's name (comm, at most 15 characters) of a service's processes, for eBPF filters. */
function processName(service: Scenario['twin']['services'][number]): string {
  switch (service.kind) {
    case 'etcd': return 'etcd';
    case 'kafka': return 'java';
    case 'redis': return 'redis-server';
    case 'app': return service.app ?? basename(service.command![0]!);
  }
}

/** The Go programs of the twin with Go runtime probes (Debian's etcd), as real paths for uprobes. */
async function goBinariesOf(scenario: Scenario): Promise<string[]> {
  if (!scenario.twin.services.some((s) => s.kind === 'etcd')) return [];
  const path = await which('etcd');
  return path ? [realpathSync(path)] : [];
}

/** The service a fault acts on: its target's, the churned one, or the dependency behind a toxic link. */
function faultService(spec: Scenario['faults'][number]): string {
  switch (spec.type) {
    case 'partition': return spec.mode === 'split' ? spec.groups[0]![0]!.service : spec.target.service;
    case 'process': return spec.target.service;
    case 'leader-churn': return spec.service;
    case 'toxic': return spec.service;
  }
}

function emptyLoadResult(name: string): LoadResult {
  return { name, requests: 0, errors: 0, availability: 0, byOp: {}, ackedWrites: 0, lostWrites: 0, lostKeys: [], indeterminateApplied: 0, scheduleLagP99Ms: 0, readBackError: 'the run ended before the read-back' };
}

async function analyze(journal: Journal, scenario: Scenario, store: SeriesStore, loads: LoadResult[], agreement: { t: number; agreed: boolean }[]): Promise<void> {
  const all = store.snapshot();
  journal.series.count = all.length;
  const watchedSeries = all.filter((s) => watched(s, scenario.baseline.series));
  journal.series.watched = watchedSeries.map(seriesLabel);
  const warmupEndsAt = journal.warmupEndsAt;
  // the first seconds after start carry connection set-up noise: train on the rest of the warm-up
  const trainFrom = Math.min(5000, warmupEndsAt / 4);
  const { sources } = scenario.baseline;
  const earlier = sources.runs ? earlierWarmups(sources.runs.dir, scenario.name, sources.runs.last, trainFrom) : [];
  const imports = sources.imports ? loadImports(sources.imports) : [];
  const history = (s: Series): Series | undefined => {
    const own = splitAt(splitAt(s, warmupEndsAt).train, trainFrom).test;
    const found = trainingFor(s, own, earlier, imports, warmupEndsAt);
    if (found) journal.baselineSources.push(found.source);
    return found?.train;
  };
  const detection = await runDetectors(watchedSeries, scenario.baseline.detectors, {
    trainUntil: warmupEndsAt, trainFrom, epochMs: journal.clockZero ? Date.parse(journal.clockZero) : Date.parse(journal.startedAt), companions: all,
    ...(earlier.length > 0 || imports.length > 0 ? { history } : {}),
  });
  journal.alarms = detection.alarms;
  journal.detectorErrors = detection.errors;
  for (const alarm of journal.alarms) journal.timeline.push({ t: alarm.t, kind: 'alarm', detail: `${alarm.detector} on ${alarm.series} (score ${alarm.score.toFixed(1)})` });
  journal.timeline.sort((a, b) => a.t - b.t);

  const lastT = Math.max(warmupEndsAt, ...all.map((s) => s.t[s.t.length - 1] ?? 0));
  const windows = journal.faults.filter((f) => f.appliedAt !== null).map((f) => ({ id: f.id, appliedAt: f.appliedAt!, healedAt: f.healedAt ?? lastT }));
  const scores = scoreAlarms({ faults: windows, alarms: journal.alarms, detectors: journal.detectors, series: journal.series.watched, graceMs: journal.graceMs, judgedFrom: warmupEndsAt, judgedUntil: lastT });
  journal.detections = scores.detections;
  journal.seriesDetections = scores.seriesDetections;
  journal.falseAlarms = scores.falseAlarms;
  journal.detectorScores = scores.detectors;

  const errorSeries = all.filter((s) => s.name === 'load_error_ratio' && s.labels.op === 'all');
  for (const fault of journal.faults) {
    if (fault.appliedAt === null) continue;
    const service = fault.service;
    if (service === undefined) continue;
    const change = firstLeaderChange(journal.timeline, fault.appliedAt, service);
    if (change) fault.leaderChange = change;
    if (fault.healedAt !== null && scenario.twin.services.find((s) => s.name === service)?.kind !== 'redis') {
      fault.electionsAfterHeal = electionsAfterHeal(journal.timeline, fault.healedAt, lastT, service);
    }
    if (fault.healedAt !== null) {
      const agreedAt = agreement.find((a) => a.t >= fault.healedAt! && a.agreed)?.t ?? null;
      fault.recoveryMs = recoveryAfter(fault.healedAt, errorSeries, warmupEndsAt, agreedAt);
    }
  }
  journal.load = loads.map(summarizeLoad);
  journal.gates = evaluateGates(scenario.gates, { loads, faults: journal.faults, detections: journal.detections, falseAlarms: journal.falseAlarms, detectors: journal.detectors });

  const reasons: string[] = [];
  if (journal.status !== 'completed') reasons.push(`run ${journal.status}${journal.error ? `: ${journal.error}` : ''}`);
  for (const fault of journal.faults) {
    if (fault.appliedAt === null) reasons.push(`fault ${fault.id} was never applied`);
    else if (!fault.verified.ok) reasons.push(`fault ${fault.id} was not verified to take effect`);
    if (fault.appliedAt !== null && fault.healedAt === null) reasons.push(`fault ${fault.id} was not healed`);
  }
  for (const load of journal.load) if (load.readBackError) reasons.push(`load ${load.name}: acknowledged writes could not be read back (${load.readBackError})`);
  for (const gate of journal.gates) if (!gate.ok) reasons.push(`gate failed: ${gate.detail}`);
  if (!journal.cleanup.ok) reasons.push(`cleanup left resources behind: ${journal.cleanup.leftovers.join('; ')}`);
  journal.verdict = { passed: reasons.length === 0, reasons };
}

function tickState(t: number, scenario: Scenario, faults: readonly FaultRecord[], runEnd: number): string {
  const activeFaults = faults.filter((f) => f.appliedAt !== null && f.healedAt === null);
  if (activeFaults.length > 0) {
    return activeFaults.map((f) => {
      const spec = scenario.faults.find((s) => s.id === f.id)!;
      return `fault ${f.id} active on ${f.target}: ${Math.max(0, Math.ceil((f.appliedAt! + spec.durationMs - t) / 1000))} s left`;
    }).join('; ');
  }
  if (t < scenario.baseline.warmupMs) return `warm-up: ${Math.ceil((scenario.baseline.warmupMs - t) / 1000)} s until the first fault`;
  const next = scenario.faults.filter((f) => f.atMs > t).sort((a, b) => a.atMs - b.atMs)[0];
  if (next) return `steady: ${next.id} in ${Math.ceil((next.atMs - t) / 1000)} s`;
  return `recovery: run ends in ${Math.max(0, Math.ceil((runEnd - t) / 1000))} s`;
}

function hashString(text: string): number {
  let hash = 2166136261;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 16777619) >>> 0;
  return hash;
}

/**
 * Polls every leader-based service every 200 ms. Reports leader changes, and records whether the
 * members agree, both as a callback and as the series `moat_leader_agreed{service}` (1 or 0).
 */
function pollLeaders(twin: StartedTwin, now: () => number, onChange: (service: string, from: string | null, to: string | null, term: number) => void, onSample: (t: number, agreed: boolean) => void, store: SeriesStore): () => Promise<void> {
  let stopped = false;
  const last = new Map<string, { leader: string | null; term: number }>();
  const loop = (async () => {
    while (!stopped) {
      const started = performance.now();
      for (const [name, service] of twin.services) {
        if (!service.leaderBased) continue;
        const view = await service.leader(150);
        const t = Math.round(now());
        const previous = last.get(name);
        // No member answered the poll in time: that says nothing about who leads. Otherwise a new
        // leader, or the same one elected again in a later term, is a change.
        const heard = view.views.some((v) => v.reachable);
        if (heard) {
          const changed = (previous?.leader ?? null) !== view.leader || (view.leader !== null && previous?.term !== view.term);
          if (changed) onChange(name, previous?.leader ?? null, view.leader, view.term);
          last.set(name, { leader: view.leader, term: view.term });
        }
        const agreed = view.agreed && view.leader !== null && view.views.every((v) => v.reachable);
        onSample(t, agreed);
        store.append('moat_leader_agreed', { service: name }, t, agreed ? 1 : 0);
      }
      await sleep(Math.max(0, 200 - (performance.now() - started)));
    }
  })();
  return async () => {
    stopped = true;
    await loop;
  };
}
