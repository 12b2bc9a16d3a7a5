import * as z from 'zod';

/**
 * The scenario file as written: strict objects (unknown keys are errors), a
 * discriminated union on fault `type`, durations and rates still as text.
 * `model.ts` turns a document that passed this schema into a `Scenario`.
 */
const name = z.string().regex(/^[a-z0-9][a-z0-9-]{0,39}$/, { error: 'expected lower-case letters, digits and dashes (at most 40)' });
const text = z.string();

const etcdService = z.strictObject({
  kind: z.literal('etcd'),
  replicas: z.int().min(1).max(7).default(3),
  /** raft heartbeat interval; etcd's default is 100ms */
  heartbeat: text.default('100ms'),
  /** raft election timeout; etcd's default is 1000ms */
  election: text.default('1000ms'),
  /** raft pre-vote: a member rejoining after a partition does not force an election (etcd's default: off) */
  preVote: z.boolean().default(false),
});

const kafkaTopic = z.strictObject({
  partitions: z.int().min(1).max(1000).default(3),
  /** copies of each partition; at most the number of brokers */
  replicationFactor: z.int().min(1).max(7).default(3),
  /** with acks=all, how many copies must have a write before it is acknowledged */
  minInsyncReplicas: z.int().min(1).max(7).default(2),
});

const kafkaService = z.strictObject({
  kind: z.literal('kafka'),
  /** brokers, each also a KRaft controller */
  replicas: z.int().min(1).max(7).default(3),
  topics: z.record(z.string().regex(/^[A-Za-z0-9._-]{1,100}$/, { error: 'expected a Kafka topic name: letters, digits, ".", "_" and "-" (at most 100)' }), kafkaTopic).default({}),
  /** JVM heap per broker */
  heap: text.default('512m'),
  /** a follower out of step this long leaves the ISR (Kafka's replica.lag.time.max.ms; its default is 30s) */
  replicaLag: text.default('10s'),
});

const redisService = z.strictObject({ kind: z.literal('redis') });

const appService = z.strictObject({
  kind: z.literal('app'),
  /** moat's own Go service under test (twin/apps/ledger); or give `command` for your own binary */
  app: z.literal('ledger').optional(),
  command: z.array(text).min(1).optional(),
  port: z.int().min(1).max(65535).default(8080),
  /** HTTP path that answers 2xx once the app is ready */
  health: text.default('/healthz'),
  env: z.record(z.string().regex(/^[A-Z_][A-Z0-9_]*$/, { error: 'expected an environment variable name' }), text).default({}),
  /** services the app talks to; each link goes through Toxiproxy, where toxics act */
  links: z.array(text).default([]),
  /** ledger: written to etcd before it starts (memoryLimitMiB, breaker: errorRate, timeoutMs, sleepWindowMs, minRequests) */
  config: z.strictObject({
    memoryLimitMiB: z.int().min(16).default(256),
    breaker: z.strictObject({
      errorRate: z.number().gt(0).max(1).default(0.3),
      timeoutMs: z.int().min(1).default(200),
      sleepWindowMs: z.int().min(1).default(2000),
      minRequests: z.int().min(1).default(10),
    }).default({ errorRate: 0.3, timeoutMs: 200, sleepWindowMs: 2000, minRequests: 10 }),
  }).optional(),
});

export const serviceDocument = z.discriminatedUnion('kind', [etcdService, kafkaService, redisService, appService]);

const etcdKvLoad = z.strictObject({
  name,
  kind: z.literal('etcd-kv'),
  target: text,
  rate: text,
  mix: z.strictObject({ put: z.number().min(0).max(1).default(0.5), get: z.number().min(0).max(1).default(0.5) }).default({ put: 0.5, get: 0.5 }),
  /** per-request deadline */
  timeout: text.default('1s'),
  /** replay an imported traffic shape, time-compressed: the mean rate stays `rate` */
  shape: z.strictObject({ file: text, speedup: z.number().positive().default(1), series: text.optional() }).optional(),
  /**
   * how the client picks a member: round-robin over all (etcd's clients) or the leader; with
   * requireLeader (etcd's WithRequireLeader) a member without a leader refuses at once and the
   * request moves on to the next member
   */
  client: z.strictObject({ balance: z.enum(['round-robin', 'leader']).default('round-robin'), requireLeader: z.boolean().default(false) }).default({ balance: 'round-robin', requireLeader: false }),
});

const kafkaLoad = z.strictObject({
  name,
  kind: z.literal('kafka'),
  target: text,
  topic: text,
  rate: text,
  /** the producer's delivery timeout: an acknowledgement later than this is an error */
  timeout: text.default('10s'),
  messageBytes: z.int().min(32).max(1_000_000).default(100),
});

const httpLoad = z.strictObject({
  name,
  kind: z.literal('http'),
  /** an app service */
  target: text,
  rate: text,
  timeout: text.default('2s'),
  /** the request mix, chosen per request by weight from the seed */
  requests: z.array(z.strictObject({
    name: name.optional(),
    method: z.enum(['GET', 'POST', 'PUT', 'DELETE']).default('GET'),
    path: z.string().startsWith('/', { error: 'expected a path starting with "/"' }),
    body: z.unknown().optional(),
    weight: z.number().positive().default(1),
  })).min(1),
});

export const loadDocument = z.discriminatedUnion('kind', [etcdKvLoad, kafkaLoad, httpLoad]);

const faultCommon = { id: name.optional(), at: text, duration: text };

const partitionFault = z.discriminatedUnion('mode', [
  z.strictObject({ ...faultCommon, type: z.literal('partition'), mode: z.literal('isolate'), target: text }),
  z.strictObject({ ...faultCommon, type: z.literal('partition'), mode: z.literal('one-way'), target: text, to: z.array(text).min(1).optional() }),
  z.strictObject({ ...faultCommon, type: z.literal('partition'), mode: z.literal('split'), groups: z.array(z.array(text).min(1)).min(2) }),
]);

const processFault = z.strictObject({
  ...faultCommon, type: z.literal('process'), action: z.enum(['kill', 'pause']), target: text,
  /** kill only: start the process again when the fault heals */
  restart: z.boolean().default(true),
});

const leaderChurnFault = z.strictObject({
  ...faultCommon, type: z.literal('leader-churn'),
  /** a service (`etcd`, `kafka`: partition leaders), or `kafka.controller` */
  target: text,
  every: text.default('2s'),
  /** Kafka: churn this topic's partitions only (default: every topic of the service) */
  topic: text.optional(),
  /** Kafka: churn this partition only (needs topic) */
  partition: z.int().min(0).optional(),
});

const toxicFault = z.strictObject({
  ...faultCommon, type: z.literal('toxic'),
  /** `app->service`, e.g. `ledger->redis`: every proxy between the app and that service's members */
  link: text,
  toxic: z.enum(['latency', 'bandwidth', 'slow_close', 'timeout', 'reset_peer', 'slicer', 'limit_data', 'down']),
  /** Toxiproxy's attributes for the toxic, e.g. { latency: 200, jitter: 20 } */
  attributes: z.record(text, z.number()).default({}),
  stream: z.enum(['downstream', 'upstream']).default('downstream'),
  toxicity: z.number().min(0).max(1).default(1),
});

export const faultDocument = z.discriminatedUnion('type', [partitionFault, processFault, leaderChurnFault, toxicFault]);

const alarmRule = z.union([
  z.literal('breach'),
  z.strictObject({ k: z.int().min(1), m: z.int().min(1) }),
  z.strictObject({ consecutive: z.int().min(1) }),
]);

const detectorCommon = {
  name: name.optional(),
  /** how anomalous points become alarms; default 3 of 5 */
  rule: alarmRule.optional(),
  direction: z.enum(['both', 'up', 'down']).default('both'),
};

const level = z.number().gt(0).lt(1).default(0.99);

/** A detector: a bare kind (`robust-z`) or an object with its settings. */
export const detectorDocument = z.preprocess((value) => (typeof value === 'string' ? { kind: value } : value), z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('robust-z'), ...detectorCommon, threshold: z.number().positive().default(4) }),
  z.strictObject({ kind: z.literal('mstl'), ...detectorCommon, level, periods: z.array(text).default([]) }),
  z.strictObject({ kind: z.literal('prophet'), ...detectorCommon, level, samples: z.int().min(10).max(10_000).default(250) }),
  z.strictObject({ kind: z.literal('static'), ...detectorCommon, thresholds: z.record(text, text) }),
  z.strictObject({
    kind: z.literal('adaptive'), ...detectorCommon, preset: z.enum(['qps', 'error-rate', 'latency']),
    series: z.array(text).min(1).optional(),
    sigma: z.number().positive().optional(), slope: z.number().min(0).optional(), history: text.optional(),
    window: text.optional(), quantile: z.number().gt(0).max(100).optional(), margin: z.number().min(0).optional(), for: text.optional(), aggregate: text.optional(),
    minWindow: text.optional(), maxWindow: text.optional(), p50Rise: z.number().min(0).optional(),
  }),
]));

export const scenarioDocument = z.strictObject({
  name,
  description: text.optional(),
  seed: z.int().min(0).max(2 ** 32 - 1).optional(),
  twin: z.strictObject({
    backend: z.enum(['netns']).default('netns'),
    services: z.record(name, serviceDocument),
  }),
  load: z.array(loadDocument).default([]),
  observe: z.strictObject({
    interval: text.default('1s'),
    prometheus: z.array(text).optional(),
    /** eBPF probes (bpf/*.bt); default: tcp-retransmit, tcp-state, process-exits */
    bpf: z.array(text).optional(),
  }).default({ interval: '1s' }),
  baseline: z.strictObject({
    warmup: text,
    detectors: z.array(detectorDocument).min(1).default([{ kind: 'robust-z', threshold: 4, direction: 'both' }]),
    /** series names (exact, or ending in `*`) the detectors watch; default: the key series */
    series: z.array(text).min(1).optional(),
    /** also train on the warm-ups of earlier runs of this scenario found in this folder */
    history: z.strictObject({ runs: text, last: z.int().min(1).max(100).default(5) }).optional(),
    /** train the named watched series on imported production data instead of the warm-up */
    import: z.array(z.strictObject({ file: text, series: text, scale: z.number().positive().default(1), speedup: z.number().positive().default(1) })).min(1).optional(),
  }),
  faults: z.array(faultDocument).min(1),
  recovery: text.default('20s'),
  gates: z.record(text, z.array(text).min(1)).default({}),
});

export type ScenarioDocument = z.output<typeof scenarioDocument>;
export type FaultDocument = z.output<typeof faultDocument>;
export type DetectorDocument = z.output<typeof detectorDocument>;
