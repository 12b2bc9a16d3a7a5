import type { Threshold, MetricSelector } from '../../core/thresholds.ts';
import type { DetectorSpec } from '../../detect/spec.ts';
import type { BpfProbe } from '../../bpf/probes.ts';
import type { BaselineSources } from '../../detect/baselines.ts';

/** A validated scenario: every duration in ms, every rate per second, every reference checked. */
export interface Scenario {
  name: string;
  description?: string;
  /** Undefined when the file has none: the runner draws one and records it. */
  seed?: number;
  twin: { backend: 'netns'; services: ServiceSpec[] };
  load: LoadSpec[];
  observe: { intervalMs: number; prometheus: string[]; bpf: BpfProbe[] };
  baseline: { warmupMs: number; detectors: DetectorSpec[]; series?: string[]; sources: BaselineSources };
  faults: FaultSpec[];
  recoveryMs: number;
  gates: GateSpec[];
}


export type ServiceSpec = EtcdServiceSpec | KafkaServiceSpec | RedisServiceSpec | AppServiceSpec;

/** Debian's redis-server, one member. */
export interface RedisServiceSpec {
  name: string;
  kind: 'redis';
  replicas: 1;
}

/** A service under test on its own host; its links to other services go through Toxiproxy. */
export interface AppServiceSpec {
  name: string;
  kind: 'app';
  replicas: 1;
  app?: 'ledger';
  command?: string[];
  port: number;
  health: string;
  env: Record<string, string>;
  links: string[];
  /** the ledger's config, written to etcd */
  config: { memoryLimitMiB: number; breaker: { errorRate: number; timeoutMs: number; sleepWindowMs: number; minRequests: number } };
}

export interface EtcdServiceSpec {
  name: string;
  kind: 'etcd';
  replicas: number;
  heartbeatMs: number;
  electionMs: number;
  preVote: boolean;
}

export interface KafkaTopicSpec {
  name: string;
  partitions: number;
  replicationFactor: number;
  minInsyncReplicas: number;
}

/** Apache Kafka in KRaft mode: every member is a broker and a controller. */
export interface KafkaServiceSpec {
  name: string;
  kind: 'kafka';
  replicas: number;
  topics: KafkaTopicSpec[];
  heapMb: number;
  replicaLagMs: number;
}

export type LoadSpec = EtcdKvLoadSpec | KafkaLoadSpec | HttpLoadSpec;

/** Built-in open-model HTTP load against an app, a seeded weighted mix of requests. */
export interface HttpLoadSpec {
  name: string;
  kind: 'http';
  target: string;
  ratePerSec: number;
  timeoutMs: number;
  requests: { name: string; method: 'GET' | 'POST' | 'PUT' | 'DELETE'; path: string; body?: unknown; weight: number }[];
}

/** An idempotent acks=all producer at a fixed arrival rate and a consumer group on one topic. */
export interface KafkaLoadSpec {
  name: string;
  kind: 'kafka';
  target: string;
  topic: string;
  ratePerSec: number;
  timeoutMs: number;
  messageBytes: number;
}

export interface EtcdKvLoadSpec {
  name: string;
  kind: 'etcd-kv';
  target: string;
  ratePerSec: number;
  mix: { put: number; get: number };
  timeoutMs: number;
  /** a traffic shape replayed `speedup` times faster (144: one day in ten minutes), mean rate `ratePerSec` */
  shape?: { file: string; speedup: number; series?: string };
  /** how the client picks a member (see load/etcd-kv.ts) */
  client: { balance: 'round-robin' | 'leader'; requireLeader: boolean };
}

/** Who a fault hits, resolved when it fires: a role (`etcd.leader`) or a named member (`etcd-2`). */
export type TargetSpec =
  | { kind: 'role'; service: string; role: 'leader' | 'follower' | 'random'; source: string }
  | { kind: 'member'; service: string; member: string; source: string };

interface FaultTiming {
  id: string;
  atMs: number;
  durationMs: number;
}

export type PartitionSpec = FaultTiming & { type: 'partition' } & (
  | { mode: 'isolate'; target: TargetSpec }
  | { mode: 'one-way'; target: TargetSpec; to?: TargetSpec[] }
  | { mode: 'split'; groups: TargetSpec[][] }
);

/** Signals to a twin process: kill -9 (restarted on heal unless `restart: false`), or SIGSTOP/SIGCONT. */
export type ProcessSpec = FaultTiming & { type: 'process'; action: 'kill' | 'pause'; target: TargetSpec; restart: boolean };

/**
 * Leadership moved every `everyMs`: etcd's leader (MoveLeader to a seeded random other member),
 * Kafka partition leaders (replicas reordered, then a preferred election; a seeded partition of
 * `topic`, or `partition`), or Kafka's active KRaft controller (`controller`: killed and restarted).
 */
export type LeaderChurnSpec = FaultTiming & { type: 'leader-churn'; service: string; everyMs: number; controller?: boolean; topic?: string; partition?: number };

/** A Toxiproxy toxic (or `down`: the proxies disabled) on every proxy of an app's link to a service. */
export type ToxicSpec = FaultTiming & {
  type: 'toxic';
  app: string;
  service: string;
  toxic: 'latency' | 'bandwidth' | 'slow_close' | 'timeout' | 'reset_peer' | 'slicer' | 'limit_data' | 'down';
  attributes: Record<string, number>;
  stream: 'downstream' | 'upstream';
  toxicity: number;
};

export type FaultSpec = PartitionSpec | ProcessSpec | LeaderChurnSpec | ToxicSpec;

export interface GateSpec {
  selector: MetricSelector;
  thresholds: Threshold[];
}
