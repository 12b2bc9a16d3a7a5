import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InvalidScenarioError } from '../../core/errors.ts';
import { parseScenario, loadScenarioFile, GATE_METRICS } from './index.ts';
import { DETECTOR_KINDS } from '../../detect/index.ts';

const VALID = `name: ok
twin:
  services:
    etcd: { kind: etcd, replicas: 3 }
load:
  - { name: kv, kind: etcd-kv, target: etcd, rate: 100/s }
baseline:
  warmup: 10s
faults:
  - { id: cut, type: partition, mode: isolate, target: etcd.leader, at: 10s, duration: 5s }
`;

const KAFKA = `name: kafka-ok
twin:
  services:
    etcd: { kind: etcd, replicas: 3 }
    kafka:
      kind: kafka
      topics:
        orders: { partitions: 6, replicationFactor: 3 }
load:
  - { name: orders, kind: kafka, target: kafka, topic: orders, rate: 100/s }
baseline:
  warmup: 10s
faults:
  - { id: churn, type: leader-churn, target: kafka, topic: orders, partition: 1, at: 10s, duration: 5s }
  - { id: ctl, type: leader-churn, target: kafka.controller, every: 5s, at: 20s, duration: 10s }
  - { id: kill, type: process, action: kill, target: kafka.follower, at: 40s, duration: 10s }
`;

const LEDGER = `name: ledger-ok
twin:
  services:
    etcd: { kind: etcd, replicas: 3 }
    redis: { kind: redis }
    ledger: { kind: app, app: ledger, links: [redis, etcd] }
load:
  - { name: api, kind: http, target: ledger, rate: 50/s, requests: [{ method: GET, path: "/balance?account=a1" }] }
baseline:
  warmup: 10s
faults:
  - { id: slow, type: toxic, link: ledger->redis, toxic: latency, attributes: { latency: 200 }, at: 10s, duration: 5s }
`;

const KAFKA_UNKNOWN_TOPIC = [
  '10 load[0].topic: expected a topic of kafka (orders), saw "payments"',
  '14 faults[0].topic: expected a topic of kafka (orders), saw "refunds"',
];
const KAFKA_BAD_TARGETS = [
  '8 twin.services.kafka.topics.orders.replicationFactor: expected at most 3 (the brokers of kafka), saw 4',
  '10 load[0].target: a kafka load needs a kafka service, and etcd is etcd',
  '14 faults[0].partition: orders has partitions 0-5, saw 6',
  '15 faults[1].target: .controller applies to a Kafka service (kafka.controller); for etcd, target the service itself',
];

function problems(text: string): string[] {
  try {
    parseScenario(text, 'bad.yaml');
  } catch (error) {
    assert.ok(error instanceof InvalidScenarioError, String(error));
    return error.problems.map((p) => `${p.line ?? '?'} ${p.path}: ${p.message}`);
  }
  assert.fail('expected the scenario to be rejected');
}

const cases: { name: string; text: string; expected: string[] }[] = [
  {
    name: 'unknown keys at every level, with their lines',
    text: VALID.replace('name: ok', 'name: ok\ncolour: blue').replace('replicas: 3 }', 'replicas: 3, size: big }'),
    expected: ['2 colour: unknown key "colour"', '5 twin.services.etcd.size: unknown key "size"'],
  },
  {
    name: 'wrong types and enums',
    text: VALID.replace('replicas: 3', 'replicas: three').replace('mode: isolate', 'mode: sideways'),
    expected: [
      '4 twin.services.etcd.replicas: expected number, saw "three"',
      '10 faults[0].mode: expected one of "isolate", "one-way", "split", saw "sideways"',
    ],
  },
  {
    name: 'an unknown fault type',
    text: VALID.replace('type: partition', 'type: earthquake'),
    expected: ['10 faults[0].type: expected one of "partition", "process", "leader-churn", "toxic", "config", "cpu-throttle", "memory-squeeze", saw "earthquake"'],
  },
  {
    name: 'missing required keys',
    text: VALID.replace('  warmup: 10s\n', '  detectors: [robust-z]\n').replace(', at: 10s', ''),
    expected: ['8 baseline.warmup: missing required key (expected string)', '10 faults[0].at: missing required key (expected string)'],
  },
  {
    name: 'bad durations and rates',
    text: VALID.replace('rate: 100/s', 'rate: fast').replace('warmup: 10s', 'warmup: 10 sec').replace('duration: 5s', 'duration: 0s'),
    expected: [
      '6 load[0].rate: expected a rate such as "200/s" or "30/m", saw "fast"',
      '8 baseline.warmup: expected a duration such as "20s", "500ms" or "1m", saw "10 sec"',
      '10 faults[0].duration: expected a duration above zero, saw "0s"',
    ],
  },
  {
    name: 'targets that name nothing in the twin',
    text: VALID.replace('target: etcd, rate', 'target: etc, rate').replace('target: etcd.leader', 'target: etcd-4'),
    expected: [
      '6 load[0].target: expected a service of the twin (etcd), saw "etc"',
      '10 faults[0].target: expected <service>.leader, <service>.follower, <service>.random or a member (etcd-1, etcd-2, etcd-3), saw "etcd-4"',
    ],
  },
  {
    name: 'a fault inside the warm-up',
    text: VALID.replace('at: 10s', 'at: 5s'),
    expected: ['10 faults[0].at: fault starts at 5000 ms, inside the 10000 ms warm-up: detectors need a fault-free baseline'],
  },
  {
    name: 'split groups that overlap, and duplicate ids',
    text: VALID.replace('faults:\n', 'faults:\n  - { id: cut, type: partition, mode: split, groups: [[etcd-1], [etcd-1, etcd-2]], at: 20s, duration: 5s }\n'),
    expected: ['10 faults[0].groups[1][0]: etcd-1 is already in group 0', '11 faults[1].id: duplicate fault id "cut"'],
  },
  {
    name: 'gates: unknown metric, unknown tag, bad threshold',
    text: VALID + 'gates:\n  latency: ["p(99) < 10"]\n  "latency_ms{route:put}": ["p(99) < 10"]\n  availability: ["> lots"]\n',
    expected: [
      `12 gates.latency: unknown metric "latency" (expected one of ${Object.keys(GATE_METRICS).join(', ')})`,
      '13 gates.latency_ms{route:put}: metric latency_ms has no tag "route" (tags: load, op)',
      '14 gates.availability[0]: expected a threshold such as "p(99) < 800" or ">= 99%", saw "> lots"',
    ],
  },
  {
    name: 'election shorter than five heartbeats',
    text: VALID.replace('replicas: 3 }', 'replicas: 3, heartbeat: 100ms, election: 300ms }'),
    expected: ['4 twin.services.etcd.election: etcd needs election >= 5 x heartbeat (100 ms), saw 300 ms'],
  },
  {
    name: 'detectors: unknown kind, bad rule, bad level, duplicate names, bad static threshold',
    text: VALID.replace('  warmup: 10s\n', '  warmup: 10s\n  detectors:\n    - sigma\n    - { kind: mstl, level: 1.5, rule: { k: 4, m: 2 } }\n    - robust-z\n    - { kind: robust-z, threshold: 3 }\n    - { kind: static, thresholds: { load_error_ratio: "big" } }\n'),
    expected: [
      `10 baseline.detectors[0].kind: expected one of ${Object.keys(DETECTOR_KINDS).map((k) => JSON.stringify(k)).join(', ')}, saw "sigma"`,
      '11 baseline.detectors[1].level: expected at most 1, saw number 1.5',
    ],
  },
  {
    name: 'detectors that pass the schema but not the cross-checks',
    text: VALID.replace('  warmup: 10s\n', '  warmup: 10s\n  detectors:\n    - { kind: mstl, periods: [1x], rule: { k: 4, m: 2 } }\n    - robust-z\n    - { kind: robust-z, threshold: 3 }\n    - { kind: static, thresholds: { load_error_ratio: "big" } }\n'),
    expected: [
      '10 baseline.detectors[0].rule: k must not exceed m, saw k 4 of m 2',
      '10 baseline.detectors[0].periods[0]: expected a duration such as "20s", "500ms" or "1m", saw "1x"',
      '12 baseline.detectors[2]: duplicate detector name "robust-z": give each a distinct name:',
      '13 baseline.detectors[3].thresholds.load_error_ratio: expected a threshold such as "> 0.05" or "<= 1", saw "big"',
    ],
  },
  {
    name: 'adaptive presets: unknown preset, and settings a preset does not use',
    text: VALID.replace('  warmup: 10s\n', '  warmup: 10s\n  detectors:\n    - { kind: adaptive, preset: cpu }\n') ,
    expected: ['10 baseline.detectors[0].preset: expected one of "qps", "error-rate", "latency", saw "cpu"'],
  },
  {
    name: 'adaptive presets: settings that belong to another preset',
    text: VALID.replace('  warmup: 10s\n', '  warmup: 10s\n  detectors:\n    - { kind: adaptive, preset: error-rate, slope: 1, for: 2m }\n    - { kind: adaptive, preset: qps, history: 7 days }\n'),
    expected: [
      '10 baseline.detectors[0].slope: the error-rate preset does not use slope (it takes: window, quantile, margin, for, aggregate)',
      '11 baseline.detectors[1].history: expected a duration such as "20s", "500ms" or "1m", saw "7 days"',
    ],
  },
  {
    name: 'an eBPF probe that does not exist',
    text: VALID.replace('baseline:', 'observe: { bpf: [tcp-retransmit, kprobe-magic] }\nbaseline:'),
    expected: ['7 observe.bpf[1]: expected one of tcp-retransmit, tcp-state, runq-latency, syscall-errors, process-exits, go-gc, go-sched, profile, saw "kprobe-magic"'],
  },
  {
    name: 'process faults: unknown action, restart on a pause',
    text: VALID.replace('faults:\n', 'faults:\n  - { id: p1, type: process, action: explode, target: etcd-1, at: 20s, duration: 5s }\n').replace('  - { id: cut,', '  - { id: p2, type: process, action: pause, restart: false, target: etcd.leader, at: 30s, duration: 5s }\n  - { id: cut,'),
    expected: ['10 faults[0].action: expected one of "kill", "pause", saw "explode"'],
  },
  {
    name: 'process faults that pass the schema but not the cross-checks',
    text: VALID.replace('  - { id: cut,', '  - { id: p2, type: process, action: pause, restart: false, target: etcd-9, at: 30s, duration: 5s }\n  - { id: cut,'),
    expected: [
      '10 faults[0].restart: restart applies to kill only',
      '10 faults[0].target: expected <service>.leader, <service>.follower, <service>.random or a member (etcd-1, etcd-2, etcd-3), saw "etcd-9"',
    ],
  },
  {
    name: 'leader churn on a service that is not there, too often',
    text: VALID.replace('  - { id: cut,', '  - { id: churn, type: leader-churn, target: kafka, every: 50ms, at: 30s, duration: 5s }\n  - { id: cut,'),
    expected: [
      '10 faults[0].target: expected a service of the twin whose leaders move (etcd), saw "kafka"',
      '10 faults[0].every: expected at least 200ms between moves, saw "50ms"',
    ],
  },
  {
    name: 'Kafka: a load on a topic the twin does not declare, churn on an unknown topic and partition',
    text: KAFKA.replace('topic: orders, rate', 'topic: payments, rate').replace('topic: orders, partition: 1', 'topic: refunds, partition: 1'),
    expected: KAFKA_UNKNOWN_TOPIC,
  },
  {
    name: 'Kafka: targets that do not fit the service, a partition out of range, a topic bigger than the cluster',
    text: KAFKA.replace('target: kafka, topic: orders, partition: 1', 'target: kafka, topic: orders, partition: 6')
      .replace('{ id: ctl, type: leader-churn, target: kafka.controller', '{ id: ctl, type: leader-churn, target: etcd.controller')
      .replace('replicationFactor: 3', 'replicationFactor: 4')
      .replace('kind: kafka, target: kafka', 'kind: kafka, target: etcd'),
    expected: KAFKA_BAD_TARGETS,
  },
  {
    name: 'toxics: an unknown attribute, a missing one, an unknown toxic, a link the twin does not declare',
    text: LEDGER.replace('attributes: { latency: 200 }', 'attributes: { latency: 200, wobble: 3 }')
      + '  - { id: cut, type: toxic, link: ledger->kafka, toxic: bandwidth, at: 20s, duration: 5s }\n'
      + '  - { id: odd, type: toxic, link: ledger->redis, toxic: earthquake, at: 30s, duration: 5s }\n',
    expected: [
      '14 faults[2].toxic: expected one of "latency", "bandwidth", "slow_close", "timeout", "reset_peer", "slicer", "limit_data", "down", saw "earthquake"',
    ],
  },
  {
    name: 'toxics that pass the schema but not the cross-checks',
    text: LEDGER.replace('attributes: { latency: 200 }', 'attributes: { latency: 200, wobble: 3 }')
      + '  - { id: cut, type: toxic, link: ledger->kafka, toxic: bandwidth, at: 20s, duration: 5s }\n',
    expected: [
      '12 faults[0].attributes.wobble: the latency toxic has no attribute "wobble" (it takes: latency, jitter)',
      '13 faults[1].link: expected a link the twin declares (ledger->redis, ledger->etcd), saw "ledger->kafka"',
      '13 faults[1].attributes: the bandwidth toxic needs rate (KB/s)',
    ],
  },
  {
    name: 'config pushes: an app that is not there, a service that is no app, nothing to change, a field the ledger does not have, a value out of range',
    text: LEDGER
      + '  - { id: p1, type: config, app: api, set: { breaker: { timeoutMs: 1 } }, at: 20s, duration: 5s }\n'
      + '  - { id: p2, type: config, app: redis, set: { memoryLimitMiB: 64 }, at: 20s, duration: 5s }\n'
      + '  - { id: p3, type: config, app: ledger, set: {}, at: 30s, duration: 5s }\n',
    expected: [
      '13 faults[1].app: expected an app service of the twin that reads its config from etcd (ledger), saw "api"',
      '14 faults[2].app: expected an app service of the twin that reads its config from etcd (ledger), saw "redis"',
      '15 faults[3].set: expected at least one field to change (memoryLimitMiB, breaker.errorRate, breaker.timeoutMs, breaker.sleepWindowMs, breaker.minRequests)',
    ],
  },
  {
    name: 'config pushes the schema rejects',
    text: LEDGER
      + '  - { id: p1, type: config, app: ledger, set: { breaker: { timeout: 1 } }, at: 20s, duration: 5s }\n'
      + '  - { id: p2, type: config, app: ledger, set: { memoryLimitMiB: 1, breaker: { errorRate: 2 } }, at: 20s, duration: 5s }\n',
    expected: [
      '13 faults[1].set.breaker.timeout: unknown key "timeout"',
      '14 faults[2].set.memoryLimitMiB: expected 0 (no limit) or at least 16, saw number 1',
      '14 faults[2].set.breaker.errorRate: expected at most 1, saw number 2',
    ],
  },
  {
    name: 'apps: both app and command, a link to nothing, a ledger without etcd, an http load on etcd',
    text: LEDGER.replace('{ kind: app, app: ledger, links: [redis, etcd] }', '{ kind: app, app: ledger, command: [./svc], links: [redis, cache] }').replace('kind: http, target: ledger', 'kind: http, target: etcd'),
    expected: [
      '6 twin.services.ledger: expected exactly one of app: ledger (moat\'s Go service), command: [your binary, args...], or image: / build: (your image, on twin.backend: containers)',
      '6 twin.services.ledger.links[1]: expected a service of the twin (etcd, redis), saw "cache"',
      '6 twin.services.ledger.links: the ledger app needs a link to a redis service and to an etcd service (it stores balances in Redis and reads its config from etcd), saw [redis, cache]',
      '8 load[0].target: an http load needs an app service, and etcd is etcd',
    ],
  },
  {
    name: "a user's image on a netns twin, and a build without the image's tag",
    text: LEDGER.replace('{ kind: app, app: ledger, links: [redis, etcd] }', '{ kind: app, image: "shop:1", links: [redis, etcd] }')
      .replace('    redis: { kind: redis }', '    redis: { kind: redis }\n    other: { kind: app, build: ./shop }'),
    expected: [
      '6 twin.services.other.build: build needs image: the tag moat builds the Dockerfile into',
      '7 twin.services.ledger.image: an image runs on twin.backend: containers (this twin is netns)',
    ],
  },
  {
    name: 'YAML syntax errors',
    text: 'name: ok\ntwin: [\n',
    expected: ['3 : YAML syntax: Flow sequence in block collection must be sufficiently indented and end with a ]'],
  },
  {
    name: 'duplicate keys',
    text: VALID.replace('name: ok', 'name: ok\nname: again'),
    expected: ['2 : YAML syntax: Map keys must be unique'],
  },
];

for (const { name, text, expected } of cases) {
  test(`rejects ${name}`, () => {
    assert.deepEqual(problems(text), expected);
  });
}

test('accepts the valid base and fills defaults', () => {
  const scenario = parseScenario(VALID, 'ok.yaml');
  assert.equal(scenario.observe.intervalMs, 1000);
  assert.deepEqual(scenario.observe.prometheus, ['etcd']);
  assert.deepEqual(scenario.baseline.detectors, [{ name: 'robust-z', kind: 'robust-z', threshold: 4, direction: 'both', rule: { kind: 'k-of-m', k: 3, m: 5 } }]);
  assert.equal(scenario.load[0]!.ratePerSec, 100);
  assert.deepEqual(scenario.faults[0], { id: 'cut', atMs: 10_000, durationMs: 5000, type: 'partition', mode: 'isolate', target: { kind: 'role', service: 'etcd', role: 'leader', source: 'etcd.leader' } });
});

test('accepts a Kafka twin with its load and faults', () => {
  const scenario = parseScenario(KAFKA, 'kafka.yaml');
  assert.deepEqual(scenario.twin.services[1], { name: 'kafka', kind: 'kafka', replicas: 3, topics: [{ name: 'orders', partitions: 6, replicationFactor: 3, minInsyncReplicas: 2 }], heapMb: 512, replicaLagMs: 10_000 });
  assert.deepEqual(scenario.observe.prometheus, ['etcd'], 'Kafka is observed through its admin API, not scraped');
  assert.deepEqual(scenario.faults.slice(0, 2).map((f) => f.type === 'leader-churn' && [f.service, f.controller ?? false, f.topic, f.partition]), [['kafka', false, 'orders', 1], ['kafka', true, undefined, undefined]]);
});

test('the error message lists every problem with file, line and path', () => {
  assert.throws(() => parseScenario(VALID.replace('replicas: 3', 'replicas: 0').replace('colour', ''), 'x.yaml'), {
    message: 'x.yaml: 1 problem\n  x.yaml:4 twin.services.etcd.replicas: expected at least 1, saw number 0',
  });
});

test('every scenario in the library is valid', async () => {
  const { readdirSync } = await import('node:fs');
  const dir = new URL('../../scenarios/', import.meta.url).pathname;
  const files = readdirSync(dir).filter((f) => f.endsWith('.yaml') && !f.endsWith('.schedule.yaml'));
  assert.ok(files.length >= 4, files.join(', '));
  for (const file of files) {
    const scenario = await loadScenarioFile(dir + file);
    assert.ok(scenario.faults.length > 0, file);
  }
});
