import type { Alarm, Detection } from './detection.ts';
import type { RandomChoice } from './random.ts';
import type { Scenario } from './scenario.ts';

/** One observation that a fault did (or did not) take effect. */
export interface Evidence {
  /** ms since the run clock's zero */
  t: number;
  kind: 'probe' | 'counter' | 'leader' | 'ebpf' | 'note';
  ok: boolean;
  detail: string;
}

/** One step of the run, timed. */
export interface Activity {
  name: string;
  start: string;
  end: string;
  durationMs: number;
  status: 'succeeded' | 'failed';
  output?: unknown;
  error?: string;
}

/** All times are ms since the run clock's zero (`Journal.clockZero`); null when it never happened. */
export interface FaultRecord {
  id: string;
  type: string;
  description: string;
  /** as resolved when the fault fired, e.g. `etcd-2 (leader)` */
  target: string | null;
  hosts: string[];
  scheduledAt: number;
  appliedAt: number | null;
  healedAt: number | null;
  verified: { ok: boolean; evidence: Evidence[] };
  /** how long the fault waited for its target to exist (a role target while the service had no leader) */
  targetWaitMs?: number;
  /** the service the fault acts on (for a toxic: the dependency behind the link) */
  service?: string;
  /** for faults on a service with a leader: the first new leader after the fault, and how soon */
  leaderChange?: { from: string | null; to: string; afterMs: number };
  /** for faults on a service with a leader: elections from heal to the end of the run */
  electionsAfterHeal?: number;
  /** how long applying and healing took, and how early each was started to land on schedule */
  actuation?: { injectMs: number; injectLeadMs: number; healMs: number; healLeadMs: number };
  /** from heal until the load was healthy again and members agreed on a leader */
  recoveryMs: number | null;
  error?: string;
}

/**
 * Something that happened on the run clock. `detail` is the sentence reports print; facts that
 * analysis reads travel as typed fields, never parsed back out of `detail`.
 */
export type TimelineEvent =
  | { t: number; kind: 'phase' | 'fault-applied' | 'fault-verified' | 'fault-healed' | 'fault-failed' | 'alarm' | 'process-exit' | 'target-wait'; detail: string }
  | LeaderChangeEvent
  | ConfigWriteEvent;

/**
 * A service's configuration in etcd was written (seen by polling its key's revision): by a fault,
 * or by anything else that writes it. `detail` says what changed, e.g. `breaker.timeoutMs 200 -> 2`.
 */
export interface ConfigWriteEvent {
  t: number;
  kind: 'config-write';
  detail: string;
  service: string;
  key: string;
  /** etcd's mod_revision of the write */
  revision: number;
}

/**
 * Leadership moved: on a whole service (etcd's raft leader, Kafka's controller) or on one of its
 * partitions (`partition`, e.g. `orders/2`). `to` null: nobody leads. `term`: the raft term (Kafka:
 * the controller epoch) in which `to` leads; a new term with the same leader is a new election.
 */
export interface LeaderChangeEvent {
  t: number;
  kind: 'leader-change';
  detail: string;
  service: string;
  partition?: string;
  from: string | null;
  to: string | null;
  term?: number;
}

/** What a load did over the whole run, whatever its kind. */
export interface LoadTotals {
  name: string;
  requests: number;
  errors: number;
  /** share of requests that succeeded */
  availability: number;
  ackedWrites: number;
  /** acknowledged writes missing or changed when read back after heal */
  lostWrites: number;
  lostKeys: string[];
  /** writes that timed out or failed but were found applied (allowed, and worth knowing) */
  indeterminateApplied: number;
  /** p99 of how late requests left, ms */
  scheduleLagP99Ms: number;
  readBackError?: string;
  /** message loads (Kafka): Jepsen-style accounting of the stored log and the consumer group */
  messages?: MessageAccounting;
  /** how well the generator kept its schedule, so a run never blames the twin for the generator's limit */
  generator?: GeneratorReport;
  /** a ramping load: the second the service broke while the generator still kept its schedule (null: it held) */
  breakpoint?: Breakpoint | null;
}

/** The load generator's own account of whether it kept the schedule. */
export interface GeneratorReport {
  /** worker threads that sent the requests (0: the run's own event loop) */
  workers: number;
  /** share of requests that left more than 10 ms after their due time */
  lateShare: number;
  lagP99Ms: number;
  /** requests never sent because too many were already in flight */
  dropped: number;
  /** seconds in which more than 1% of requests left late, or any was dropped */
  saturatedSeconds: number;
  /** seconds with requests due in them */
  seconds?: number;
  /** the first such second, ms since the run's zero; null when the generator kept up */
  saturatedFromMs: number | null;
  /** the generator threads' CPU time over the load's wall time (1 = one core), when it runs in workers */
  cpuShare?: number;
}

/** Where a ramped service broke: the first of 3 seconds in a row over its error or latency limit, with the generator not the cause. */
export interface Breakpoint {
  /** start of the second, ms since the run's zero */
  tMs: number;
  /** the arrival rate the executor asked for then */
  ratePerSec: number;
  /** the rate the service answered successfully in that second */
  goodPerSec: number;
  reason: string;
  /** the generator's own lag p99 over the three seconds: under a tenth of the latency limit */
  generatorLagP99Ms: number;
}

export interface MessageAccounting {
  /** extra copies of a message in the log */
  duplicated: number;
  /** messages stored after one that was sent later, in the same partition */
  reordered: number;
  /** distinct messages the consumer group received */
  consumed: number;
  /** messages the group received more than once (at-least-once redelivery) */
  redelivered: number;
  /** acknowledged messages the group never received before the run ended */
  ackedNotConsumed: number;
  partitions: { partition: number; acked: number; stored: number; lost: number; duplicated: number; reordered: number }[];
}

export interface LoadSummary extends LoadTotals {
  byOp: Record<string, { requests: number; errors: number; p50Ms: number | null; p99Ms: number | null; maxMs: number | null }>;
}

export interface GateResult {
  metric: string;
  threshold: string;
  /** the value the threshold was compared with; null when there was nothing to aggregate */
  actual: number | null;
  ok: boolean;
  detail: string;
}

/** One gate threshold over `moat gate --repeat N` runs of a scenario. */
export interface GateRepeat {
  scenario: string;
  metric: string;
  threshold: string;
  runs: number;
  passes: number;
  passRate: number;
  /** the pass rate's 95% Wilson interval */
  wilsonLow: number;
  wilsonHigh: number;
  /** `pass_rate >= X` of the gate: the lower bound must reach it; absent: every run must pass */
  requiredPassRate?: number;
  ok: boolean;
  seeds: number[];
  actuals: (number | null)[];
}

export interface DetectorSummary {
  detector: string;
  faults: number;
  detected: number;
  detectionRate: number;
  missed: number;
  medianTtdMs: number | null;
  falseAlarms: number;
  falseAlarmsPerHour: number;
  nab: { standard: number; reward_low_fp: number; reward_low_fn: number };
  /** NAB score normalised to 0 (the null detector) .. 100 (every fault at its first point, no false alarm) */
  nabNormalized: { standard: number; reward_low_fp: number; reward_low_fn: number };
}

/** `running` only in a journal written while the run went on (or by a run that was killed). */
/** One alert's episode as Prometheus evaluated it, on the run clock (ms); null: did not happen. */
export interface AlertEpisodeRecord {
  alert: string;
  labels: Record<string, string>;
  pendingAt: number;
  firingAt: number | null;
  resolvedAt: number | null;
}

/** Per fault and alert rule: how soon it went pending, fired, and paged (through Alertmanager). */
export interface AlertDetection {
  faultId: string;
  alert: string;
  /** whether the rule claims to cover this fault (its type or id in `covers`) */
  covers: boolean;
  pendingMs: number | null;
  /** the TTD: from the fault's start to the first firing evaluation within [applied, healed + grace] */
  ttdMs: number | null;
  /** when Alertmanager's notification reached moat's webhook */
  notifiedMs: number | null;
  /** this TTD over the best of moat's own detectors on the same fault */
  ratioToBest: number | null;
}

/** What a team's alert rules did in the run. */
export interface AlertsRecord {
  prometheus: { version: string; url: string | null; error?: string };
  alertmanager: { url: string | null; notifications: number } | null;
  rules: { name: string; file: string; line: number; expr: string; forMs: number }[];
  episodes: AlertEpisodeRecord[];
  detections: AlertDetection[];
  /** rules that never fired within any fault they claim to cover */
  blind: string[];
  /** faults no rule fired for */
  unpaged: string[];
  /** the run's TSDB as Prometheus stored it (a snapshot), for `moat alerts replay` */
  tsdb: string | null;
}

export type RunStatus = 'running' | 'completed' | 'failed' | 'aborted' | 'interrupted';

/** The phases of a run, in order; the journal names the last one reached. */
export const RUN_PHASES = ['validate', 'twin-up', 'observe', 'load', 'warm-up', 'faults', 'recovery', 'read-back', 'teardown', 'analysis', 'done'] as const;
export type RunPhase = (typeof RUN_PHASES)[number];

/**
 * The single source of truth of a run. Reports are pure functions of it; a run that crashed
 * still writes one, and its status says so.
 */
export interface Journal {
  moatVersion: string;
  runId: string;
  scenarioFile: string;
  /** the scenario as validated */
  scenario: Scenario;
  scenarioName: string;
  description?: string;
  seed: number;
  status: RunStatus;
  /** the last phase the run reached */
  phase: RunPhase;
  startedAt: string;
  endedAt: string;
  /** wall-clock time of t = 0: when the twin was ready and observation began */
  clockZero: string | null;
  durationMs: number;
  runDir: string;
  versions: Record<string, string>;
  /** the eBPF probes: whether they ran, and if not, why */
  bpf: { enabled: boolean; probes: string[]; attachedProbes?: number; reason?: string; profile?: { file: string; samples: number; dropped: number } };
  /** the run as an OpenTelemetry trace, written as OTLP JSON; `exported` when also sent over OTLP */
  trace: { file: string; spans: number; exported: boolean };
  /** the run's OTLP/HTTP receiver, on the twin's gateway: what twin services sent it */
  otlp: { url: string | null; spans: number; errorSpans: number; droppedSpans: number; metricPoints: number };
  plan: string[];
  activities: Activity[];
  faults: FaultRecord[];
  timeline: TimelineEvent[];
  randomChoices: RandomChoice[];
  series: { file: string; count: number; watched: string[] };
  warmupEndsAt: number;
  runEndsAt: number | null;
  /** detector names, as used in alarms and detections */
  detectors: string[];
  /** what each series was trained on when it was more than the run's own warm-up */
  baselineSources: string[];
  /** a detector that could not fit or judge a series, and why */
  detectorErrors: { detector: string; series: string; error: string }[];
  /** online detectors: where a level that stayed became the new normal (ms since t = 0; absent when none did) */
  detectorAdaptations?: { detector: string; series: string; t: number; afterMs: number }[];
  graceMs: number;
  alarms: Alarm[];
  /** per fault x detector: the first alarm on any watched series */
  detections: Detection[];
  /** per fault x detector x series */
  seriesDetections: Detection[];
  falseAlarms: Alarm[];
  detectorScores: DetectorSummary[];
  load: LoadSummary[];
  gates: GateResult[];
  verdict: { passed: boolean; reasons: string[] };
  cleanup: { ok: boolean; leftovers: string[] };
  /** the team's alert rules, when the scenario has an `alerts:` section */
  alerts?: AlertsRecord;
  /** where each fault was, as moat's localizer ranked the twin's components, scored against the truth */
  diagnosis?: Diagnosis;
  error?: string;
}

/** What kind of cause a hypothesis names. */
export const CAUSE_KINDS = ['network-cut', 'process-down', 'slow-dependency', 'leadership-instability', 'resource-pressure', 'config-change'] as const;
export type CauseKind = (typeof CAUSE_KINDS)[number];

/**
 * A twin component a hypothesis can name: a member (`etcd-2`), a service (`etcd`), or a link from
 * a service to one of its dependencies (`ledger->redis`).
 */
export interface ComponentRef {
  id: string;
  kind: 'member' | 'service' | 'link';
}

export interface Hypothesis {
  component: ComponentRef;
  cause: CauseKind;
  /** the component's share of all the evidence at that moment, in [0, 1] */
  confidence: number;
  /** the evidence, strongest first, as sentences */
  evidence: string[];
}

/** The localizer's verdict on one fault, and how it compares with where the fault really was. */
export interface FaultDiagnosis {
  faultId: string;
  /** the components the fault acted on (any of them counts as a correct answer) */
  truth: string[];
  truthCause: CauseKind;
  /** the top 3 hypotheses with the evidence up to the heal */
  hypotheses: Hypothesis[];
  /** time to localize: from the fault's start until the top hypothesis named a true component and stayed on it until the heal; null when it never did */
  ttlMs: number | null;
  /** the top hypothesis at the heal names a true component */
  top1: boolean;
  top3: boolean;
  /** the top hypothesis' cause is the fault's kind */
  causeCorrect: boolean;
  /** every change of the top hypothesis from the fault's start to its heal */
  path: { t: number; component: string; cause: CauseKind }[];
}

export interface Diagnosis {
  /** the evidence window the localizer reads at each moment (ms) */
  windowMs: number;
  faults: FaultDiagnosis[];
  /** how long the localizer took over the run's series */
  elapsedMs: number;
}

/** The sentence a leader change is printed as, e.g. `etcd: etcd-1 -> etcd-2 (term 3)`. */
export function describeLeaderChange(change: Pick<LeaderChangeEvent, 'service' | 'partition' | 'from' | 'to' | 'term'>): string {
  const what = change.partition === undefined ? change.service : `${change.service} ${change.partition}`;
  return `${what}: ${change.from ?? 'none'} -> ${change.to ?? 'none'}${change.term === undefined ? '' : ` (term ${change.term})`}`;
}
