import type { ServiceSpec } from '../../runner/scenario/index.ts';
import type { ManagedProcess } from '../backends/netns/network.ts';
import type { SeriesStore } from '../../observe/series-store.ts';

/** One member of a twin service: a process on its own netns host. */
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
  store: SeriesStore;
  now(): number;
  intervalMs: number;
  /** a leader change the service saw itself, e.g. a Kafka partition's */
  leaderChange(change: { service: string; partition?: string; from: string | null; to: string | null; term?: number }): void;
}

/**
 * A leader-based service of the twin (etcd, Kafka). Faults find members, leaders and health
 * through this, whatever the service is.
 */
export interface TwinService {
  readonly spec: ServiceSpec;
  readonly members: readonly ServiceMember[];
  member(name: string): ServiceMember;
  /** who leads the service (etcd: the raft leader; Kafka: the active KRaft controller) */
  leader(timeoutMs?: number): Promise<LeaderView>;
  /** whether the member answers its own protocol within the timeout (a paused process does not) */
  healthy(name: string, timeoutMs?: number): Promise<boolean>;
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
  /** extra series the service polls itself, until the returned stop is called */
  observe?(observation: ServiceObservation): () => Promise<void>;
  stop(): Promise<void>;
}
