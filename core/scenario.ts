import type { MetricSelector, Threshold } from './thresholds.ts';

/**
 * The scenario model: what a validated scenario file says, with every duration in ms, every rate
 * per second and every reference checked. Every layer reads it; only runner/scenario builds it.
 *
 * Service kinds, load kinds, fault types and detector kinds each add their own spec type to the
 * maps below from their own folder (TypeScript declaration merging), and list themselves in their
 * layer's registry: adding one is one new folder and one registry line. For example,
 * twin/services/etcd/spec.ts says
 *
 *   declare module '../../../core/scenario.ts' { interface ServiceSpecs { etcd: EtcdServiceSpec } }
 */

/** Service specs by kind (`twin/services/<kind>/spec.ts`). Every spec has `name`, `kind` and `replicas`. */
export interface ServiceSpecs {}
/** Load specs by kind (`load/<kind>/spec.ts`). */
export interface LoadSpecs {}
/** Fault specs by type (`injectors/<type>/spec.ts`). */
export interface FaultSpecs {}
/** Detector specs by kind (`detect/<kind>.ts`). */
export interface DetectorSpecs {}

/** any service, with the `resources:` every kind may have */
export type ServiceSpec = ServiceSpecs[keyof ServiceSpecs] & { resources?: ResourceLimits };
export type ServiceKindName = keyof ServiceSpecs & string;
export type LoadSpec = LoadSpecs[keyof LoadSpecs];
export type LoadKindName = keyof LoadSpecs & string;
export type FaultSpec = FaultSpecs[keyof FaultSpecs];
export type FaultTypeName = keyof FaultSpecs & string;
export type DetectorSpec = DetectorSpecs[keyof DetectorSpecs];
export type DetectorKindName = keyof DetectorSpecs & string;

/** What every service spec has. */
export interface ServiceSpecBase {
  name: string;
  kind: string;
  /** members, one host each: `<name>-1` … */
  replicas: number;
  /** CPU and memory limits of each member (cgroups on netns), from `resources:` */
  resources?: ResourceLimits;
}

/** CPU (millicores, as Kubernetes writes them: 2000m is two cores) and memory (bytes) limits. */
export interface ResourceLimits {
  cpuMillis?: number;
  memoryBytes?: number;
}

/** What every load spec has. */
export interface LoadSpecBase {
  name: string;
  kind: string;
  /** the service it drives */
  target: string;
  /** the constant or mean rate; a ramp's highest */
  ratePerSec: number;
  timeoutMs: number;
  /** how requests arrive (load/executor.ts) */
  executor: ExecutorSpec;
}

/**
 * How a load's requests arrive, under the names k6 users know (load/executor.ts):
 * `constant-arrival-rate` at `ratePerSec`; `ramping-arrival-rate` from a start rate through
 * linear stages; `shape`, an imported traffic shape replayed time-compressed with mean `ratePerSec`.
 */
export type ExecutorSpec =
  | { kind: 'constant-arrival-rate' }
  | { kind: 'ramping-arrival-rate'; startRatePerSec: number; stages: { durationMs: number; targetPerSec: number }[] }
  | { kind: 'shape'; file: string; speedup: number; series?: string };

/** When a fault starts and how long it lasts, and its id; every fault spec has these. */
export interface FaultTiming {
  id: string;
  atMs: number;
  durationMs: number;
}

/** Who a fault hits, resolved when it fires: a role (`etcd.leader`) or a named member (`etcd-2`). */
export type TargetSpec =
  | { kind: 'role'; service: string; role: 'leader' | 'follower' | 'random'; source: string }
  | { kind: 'member'; service: string; member: string; source: string };

/**
 * How per-point anomaly flags become alarms:
 * - `k-of-m`: k of the last m points are anomalous (default 3 of 5);
 * - `consecutive`: n anomalous points in a row;
 * - `breach`: every anomalous point after a normal one (an interval breach).
 */
/** How anomalous points become an alarm: k of the last m, n in a row, any one, or anomalous without a break for longer than `ms` (Prometheus' `for:`). */
export type AlarmRule = { kind: 'k-of-m'; k: number; m: number } | { kind: 'consecutive'; n: number } | { kind: 'breach' } | { kind: 'for'; ms: number };

/** Which way a departure counts: above the baseline, below it, or both. */
export type Direction = 'both' | 'up' | 'down';

/** What every detector spec has. */
export interface DetectorSpecBase {
  kind: string;
  /** unique name in the journal; defaults to the kind */
  name: string;
  direction: Direction;
  rule?: AlarmRule;
  /** set: the detector runs online (`mode: online`), refitting on a trailing window as points arrive */
  online?: OnlineSettings;
}

/** See `detect/online.ts`. */
export interface OnlineSettings {
  windowMs: number;
  maxPoints: number;
  refitEvery: number;
  adaptAfterMs: number;
  minPoints: number;
  /** at an adaptation, drop the points before the new level from the window (detectors that judge a location), or keep them (detectors that judge shapes) */
  forget: boolean;
}

/** `speedup` compresses the import's timeline as a load shape's `speedup` does (144: a day in 10 min). */
export interface ImportSource {
  file: string;
  series: string;
  scale: number;
  speedup: number;
}

/**
 * Where detectors learn what normal looks like, besides the run's own warm-up:
 * - `runs`: the warm-ups of earlier completed runs of the same scenario, newest first;
 * - `imports`: production series (CSV or Prometheus range-query JSON) for the watched series a
 *   pattern names, so a model fitted on a week of real traffic judges the twin's faults.
 */
export interface BaselineSources {
  runs?: { dir: string; last: number };
  imports?: ImportSource[];
}

export interface GateSpec {
  selector: MetricSelector;
  thresholds: Threshold[];
  /** `pass_rate >= X`: over `moat gate --repeat N`, the Wilson interval's lower bound of this gate's pass rate must reach X */
  passRate?: number;
}

/** One alerting rule of a team's Prometheus rule file, as moat scores it. */
export interface AlertRule {
  /** the alert's name (`alert:`) */
  name: string;
  file: string;
  group: string;
  /** 1-based line of the rule in its file */
  line: number;
  expr: string;
  /** how long the expression must hold before the alert fires (`for:`; 0: at once) */
  forMs: number;
  /** how long it keeps firing after the expression stopped holding (`keep_firing_for:`, Prometheus 2.42) */
  keepFiringForMs: number;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  /** the group's evaluation interval, when it sets one */
  intervalMs?: number;
}

/**
 * A team's own alerting: Prometheus rule files evaluated by a real Prometheus that scrapes what
 * moat scrapes; optionally a real Alertmanager paging moat's webhook. Every alert is scored like a
 * detector.
 */
export interface AlertsSpec {
  /** the rule files, as absolute paths */
  ruleFiles: string[];
  /** their alerting rules, as read after promtool accepted them */
  rules: AlertRule[];
  evaluationIntervalMs: number;
  alertmanager?: { groupWaitMs: number; groupIntervalMs: number; repeatIntervalMs: number };
  /** alert name → the fault types (or fault ids) it claims to cover; an alert not named covers every fault */
  covers: Record<string, string[]>;
}

/** Where the twin runs: network namespaces on this machine, or containers on its Docker engine. */
export type TwinBackendName = 'netns' | 'containers';

/** A validated scenario: every duration in ms, every rate per second, every reference checked. */
export interface Scenario {
  name: string;
  description?: string;
  /** Undefined when the file has none: the runner draws one and records it. */
  seed?: number;
  /** `limited`: services whose members get cgroups (they have `resources:`, or a resource fault targets them) */
  twin: { backend: TwinBackendName; services: ServiceSpec[]; limited?: string[] };
  load: LoadSpec[];
  /** `bpf`: the eBPF probes (bpf/*.bt) by name */
  observe: { intervalMs: number; prometheus: string[]; bpf: string[] };
  baseline: { warmupMs: number; detectors: DetectorSpec[]; series?: string[]; sources: BaselineSources };
  faults: FaultSpec[];
  recoveryMs: number;
  gates: GateSpec[];
  alerts?: AlertsSpec;
}

/** A path into the scenario document, e.g. `['faults', 0, 'target']`. */
export type ScenarioPath = ReadonlyArray<string | number>;

/**
 * What an extension's `build` gets to check its part of a scenario: every problem is reported
 * with its path (the file and line are found from it), and building goes on so that all problems
 * are listed at once.
 */
export interface ScenarioCheck {
  report(path: ScenarioPath, message: string): void;
  /** ms for "250ms", "20s", "1.5m"…; reports and returns NaN when it does not parse or is out of range */
  duration(text: string, path: ScenarioPath, options?: { positive?: boolean }): number;
  /** per second for "200/s", "30/m"; reports and returns NaN otherwise */
  rate(text: string, path: ScenarioPath): number;
  /** a file the scenario names: resolved against its folder, inside it unless allowed otherwise */
  file(source: string, path: ScenarioPath): string | undefined;
  /** `etcd.leader`, `etcd.follower`, `etcd.random` or a member such as `etcd-2` */
  target(source: string, path: ScenarioPath): TargetSpec;
  /** the twin's services, by name (for loads and faults: checked first) */
  readonly services: ReadonlyMap<string, ServiceSpec>;
}

/** Host names for a service's members: `etcd-1`, `etcd-2`, … */
export function memberNames(spec: Pick<ServiceSpecBase, 'name' | 'replicas'>): string[] {
  return Array.from({ length: spec.replicas }, (_, i) => `${spec.name}-${i + 1}`);
}
