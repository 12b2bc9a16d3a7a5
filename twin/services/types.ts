import type * as z from 'zod';
import type { ScenarioCheck, ServiceSpec } from '../../core/scenario.ts';
import type { ScrapeTarget, SeriesSink } from '../../core/series.ts';
import type { ResourceLedger } from '../../core/resources.ts';
import type { ImageRecipe, ManagedProcess, TwinBackend } from '../backends/types.ts';

/** One member of a twin service: a process on its own host. */
export interface ServiceMember {
  name: string;
  ip: string;
  /** the member's current process; replaced by `restartMember` */
  process: ManagedProcess;
  /** the command line, so a killed member comes back as it was */
  args: string[];
  /** the environment it was started with, when it is not moat's own (an app's) */
  env?: Record<string, string>;
}

/** What each member says about leadership at one moment. */
export interface MemberView {
  member: string;
  reachable: boolean;
  memberId?: string;
  leader?: string;
  raftTerm?: number;
  error?: string;
}

export interface LeaderView {
  /** The leader named in the highest term in which any reachable member names one, or null when none does. */
  leader: string | null;
  /** that leader's term (Kafka: the controller epoch); with no leader, the highest term seen */
  term: number;
  views: MemberView[];
  /** Whether every reachable member names the same leader. */
  agreed: boolean;
}

/** Where a service reports what the run loop should record while it observes. */
export interface ServiceObservation {
  store: SeriesSink;
  now(): number;
  intervalMs: number;
  /** a leader change the service saw itself, e.g. a Kafka partition's */
  leaderChange(change: { service: string; partition?: string; from: string | null; to: string | null; term?: number }): void;
  /** a write to the service's configuration in etcd, whoever made it; `detail` says what changed */
  configWrite(write: { service: string; key: string; revision: number; detail: string }): void;
}

/**
 * A running service of the twin (etcd, Kafka, Redis, an app). Faults find members, leaders and
 * health through this, whatever the service is.
 */
export interface TwinService {
  readonly spec: ServiceSpec;
  readonly members: readonly ServiceMember[];
  member(name: string): ServiceMember;
  /** who leads the service (etcd: the raft leader; Kafka: the active KRaft controller) */
  leader(timeoutMs?: number): Promise<LeaderView>;
  /** whether the member answers its own protocol within the timeout (a paused process does not) */
  healthy(name: string, timeoutMs?: number): Promise<boolean>;
  /** what `healthy` asks, for evidence (`/health`, a Kafka ApiVersions request, a Redis PING) */
  readonly healthCheck: string;
  /** starts a killed member again with its data and command line; resolves once it serves */
  restartMember(name: string, timeoutMs?: number): Promise<void>;
  /** a port every member listens on, for probe connections across a partition */
  readonly probePort: number;
  /** the port clients use (etcd 2379, Kafka 9092, Redis 6379, an app's port): where an app's links point */
  readonly clientPort: number;
  /** whether leadership means something here (etcd, Kafka); the run loop polls only those */
  readonly leaderBased: boolean;
  /** how long a fault aimed at a role (`.leader`, `.follower`) waits for a leader to exist: a few election timeouts */
  readonly leaderWaitMs: number;
  /** the Prometheus endpoints of its members, when it has any */
  scrapeTargets(): ScrapeTarget[];
  /** extra series the service polls itself, until the returned stop is called */
  observe?(observation: ServiceObservation): () => Promise<void>;
  stop(): Promise<void>;
}

/** What a service kind gets to start its members. */
export interface ServiceStartContext {
  backend: TwinBackend;
  runId: string;
  ledger: ResourceLedger;
  /** the service's own folder for member data (tmpfs when there is one) */
  dataDir: string;
  /** process logs (the run folder's `logs/`) */
  logDir: string;
  readyTimeoutMs?: number;
  /** the services already started: an app's dependencies */
  started: ReadonlyMap<string, TwinService>;
}

/**
 * One kind of twin service: everything moat knows about it, in one place. Listed in
 * `registry.ts`; the scenario schema, the plan, observation and eBPF filters are assembled from
 * these descriptors, so nothing else switches on a service's kind.
 */
export interface ServiceKind<S extends ServiceSpec = ServiceSpec, D = unknown> {
  readonly kind: S['kind'];
  /** the scenario document's shape (strict, with `kind` as a literal): `twin.services.<name>` */
  readonly schema: z.ZodType<D> & z.core.$ZodTypeDiscriminable;
  /** the document of one service (`name` is its key) to its spec: units, defaults, its own checks */
  build(name: string, document: D, check: ScenarioCheck): S;
  /** checks against the other services (an app's links), once every service is built */
  validate?(spec: S, check: ScenarioCheck): void;
  /** one phrase for the plan, e.g. `heartbeat 100 ms, election 1000 ms` */
  describe(spec: S): string;
  /** apps start after everything they may link to */
  readonly startsLast?: boolean;
  start(spec: S, context: ServiceStartContext): Promise<TwinService>;
  /** the kernel's name (comm) of its processes, for eBPF filters */
  processName(spec: S): string;
  /** the Go programs it runs, for Go runtime probes (real paths) */
  goBinaries?(spec: S): Promise<string[]>;
  /** the images its programs run from on the containers backend (Debian's packages are in the base image) */
  images(spec: S): Promise<ImageRecipe[]>;
  /** the series its detectors watch unless a scenario names its own */
  readonly keySeries: readonly string[];
  /** whether `observe.prometheus` includes it when a scenario does not say */
  readonly scrapedByDefault: boolean;
  /** component versions for the journal, e.g. `{ etcd: '3.4.23' }` */
  versions?(spec: S): Promise<Record<string, string>>;
}
