import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { FaultRecord, Journal, TimelineEvent } from '../core/journal.ts';
import type { Series } from '../core/series.ts';
import { readJournal } from '../core/journal-file.ts';
import { readSeriesFile } from '../core/series-file.ts';
import { classify, diagnoseRun, Localizer, topologyOf, truthOf } from './index.ts';

// a run of 80 s at one point a second: warm-up until 30 s
const SECONDS = 80;
function series(name: string, labels: Record<string, string>, value: (s: number) => number, from = 0): Series {
  const t: number[] = [];
  const v: number[] = [];
  for (let s = from; s <= SECONDS; s++) {
    t.push(s * 1000);
    // a little noise, the same every run
    v.push(value(s) + (((s * 7919) % 13) - 6) * 0.001);
  }
  return { name, labels, t: Float64Array.from(t), v: Float64Array.from(v) };
}

function fault(id: string, type: string, hosts: string[], service: string, appliedAt = 40_000, healedAt = 60_000): FaultRecord {
  return { id, type, description: id, target: hosts[0] ?? service, hosts, service, scheduledAt: appliedAt, appliedAt, healedAt, verified: { ok: true, evidence: [] }, recoveryMs: null };
}

type RunShape = Pick<Journal, 'scenario' | 'timeline' | 'warmupEndsAt' | 'faults'>;

function run(services: object[], faults: FaultRecord[], timeline: TimelineEvent[] = [], specs: object[] = faults.map((f) => ({ id: f.id, type: f.type }))): RunShape {
  return { scenario: { twin: { services }, load: [{ name: 'kv', kind: 'etcd-kv', target: 'etcd' }], faults: specs } as unknown as Journal['scenario'], timeline, warmupEndsAt: 30_000, faults };
}

/** A leader isolation as etcd shows it: the cut member has no leader for the whole cut, the others for a moment, peers retransmit to it, and leadership moves away. */
function isolation(service: string, cut: string, others: string[]): Series[] {
  const inCut = (s: number) => s > 40 && s <= 60;
  return [
    series('etcd_server_has_leader', { service, member: cut }, (s) => (inCut(s) ? 0 : 1)),
    ...others.map((m) => series('etcd_server_has_leader', { service, member: m }, (s) => (s > 40 && s <= 42 ? 0 : 1))),
    ...others.map((m) => series('etcd_server_proposals_pending', { service, member: m }, (s) => (s > 40 && s <= 41 ? 5 : 0))),
    // the first retransmit makes the series: it starts at the cut
    ...others.map((m) => series('bpf_tcp_retransmits_per_sec', { src: m, dst: cut }, (s) => (inCut(s) ? 4 : 0), 41)),
    series('bpf_tcp_retransmits_per_sec', { src: 'moat', dst: cut }, (s) => (inCut(s) ? 2 : 0), 41),
    ...[cut, ...others].flatMap((m) => [cut, ...others].filter((p) => p !== m).map((p) => series('bpf_tcp_closes_per_sec', { host: m, peer: p }, () => 0))),
  ];
}

test('a leader isolation: the cut member is the top hypothesis (network cut) within seconds, and stays', () => {
  const members = ['etcd-1', 'etcd-2', 'etcd-3'];
  const timeline: TimelineEvent[] = [{ t: 42_000, kind: 'leader-change', detail: 'etcd: etcd-2 -> etcd-1', service: 'etcd', from: 'etcd-2', to: 'etcd-1', term: 3 }];
  const input = run([{ name: 'etcd', kind: 'etcd', replicas: 3 }], [fault('cut', 'partition', ['etcd-2'], 'etcd')], timeline);
  const all = [...isolation('etcd', 'etcd-2', members.filter((m) => m !== 'etcd-2')), series('load_error_ratio', { load: 'kv', op: 'all' }, (s) => (s > 40 && s <= 43 ? 0.3 : 0))];
  const diagnosis = diagnoseRun(input, all);
  const [d] = diagnosis.faults;
  assert.deepEqual(d!.truth, ['etcd-2']);
  assert.equal(d!.top1, true, JSON.stringify(d!.hypotheses, null, 1));
  assert.equal(d!.hypotheses[0]!.cause, 'network-cut');
  assert.equal(d!.causeCorrect, true);
  assert.ok(d!.ttlMs !== null && d!.ttlMs <= 3000, `TTL ${d!.ttlMs}`);
  assert.match(d!.hypotheses[0]!.evidence.join('\n'), /TCP retransmits to etcd-2 from etcd-1, etcd-3, moat \(3 of 3 peers\)/);
  assert.match(d!.hypotheses[0]!.evidence.join('\n'), /leadership moved away from etcd-2/);
  assert.ok(d!.hypotheses[0]!.confidence > d!.hypotheses[1]!.confidence);
  // before the fault nothing stands out
  assert.deepEqual(new Localizer(input, all).rank(35_000), []);
});

test('the cause is not what alarms first: the app\'s latency rises before its dependency\'s, and the dependency is named once it shows', () => {
  const services = [{ name: 'redis', kind: 'redis', replicas: 1 }, { name: 'ledger', kind: 'app', replicas: 1, links: ['redis'] }];
  const input = run(services, [fault('slow', 'toxic', ['ledger-1', 'redis-1'], 'redis')], [], [{ id: 'slow', type: 'toxic', toxic: 'latency', app: 'ledger', service: 'redis' }]);
  const all = [
    series('ledger_request_duration_seconds:p99_ms', { service: 'ledger', member: 'ledger-1', route: 'POST /transfer' }, (s) => (s > 40 && s <= 60 ? 250 : 20)),
    series('ledger_requests_total:rate', { service: 'ledger', member: 'ledger-1', route: 'POST /transfer', code: '200' }, () => 50),
    // the dependency's own latency only shows from 44 s (its histogram is scraped less often)
    series('ledger_dependency_duration_seconds:p99_ms', { service: 'ledger', member: 'ledger-1', dependency: 'redis' }, (s) => (s > 44 && s <= 60 ? 230 : 2)),
    series('ledger_breaker_state', { service: 'ledger', member: 'ledger-1', dependency: 'redis' }, () => 0),
  ];
  const [d] = diagnoseRun(input, all).faults;
  assert.equal(d!.path[0]!.component, 'ledger-1', 'the app alarms first');
  assert.equal(d!.top1, true, JSON.stringify(d!.hypotheses, null, 1));
  assert.equal(d!.hypotheses[0]!.component.id, 'ledger->redis');
  assert.equal(d!.hypotheses[0]!.cause, 'slow-dependency');
  assert.ok(d!.ttlMs !== null && d!.ttlMs >= 5000 && d!.ttlMs <= 6000, `TTL ${d!.ttlMs}: from the fault until the dependency's latency showed`);
});

test('a killed process: the kernel\'s exit event and resets from its peers name it, as process down', () => {
  const input = run([{ name: 'etcd', kind: 'etcd', replicas: 3 }], [fault('kill', 'process', ['etcd-3'], 'etcd')],
    [{ t: 40_200, kind: 'process-exit', detail: 'kernel: SIGKILL sent to etcd-3 (pid 4242)' }], [{ id: 'kill', type: 'process', action: 'kill' }]);
  const all = [
    series('bpf_tcp_resets_received_per_sec', { host: 'etcd-1', peer: 'etcd-3' }, (s) => (s > 40 && s <= 50 ? 3 : 0), 41),
    series('bpf_tcp_closes_per_sec', { host: 'etcd-1', peer: 'etcd-2' }, () => 0),
    series('up', { service: 'etcd', member: 'etcd-3' }, (s) => (s > 40 && s <= 60 ? 0 : 1)),
  ];
  const [d] = diagnoseRun(input, all).faults;
  assert.equal(d!.top1, true);
  assert.equal(d!.hypotheses[0]!.cause, 'process-down');
  assert.match(d!.hypotheses[0]!.evidence[0]!, /SIGKILL sent to etcd-3/);
  assert.equal(d!.ttlMs, 1000);
});

test('a bad config push: the errors show on the app\'s link to Redis, the config write before them names the app, as config change', () => {
  const services = [{ name: 'etcd', kind: 'etcd', replicas: 3 }, { name: 'redis', kind: 'redis', replicas: 1 }, { name: 'ledger', kind: 'app', replicas: 1, links: ['redis', 'etcd'] }];
  const specs = [{ id: 'push', type: 'config', app: 'ledger' }];
  const write: TimelineEvent = { t: 40_100, kind: 'config-write', detail: 'ledger config written (revision 42): breaker.timeoutMs 200 -> 1', service: 'ledger', key: '/moat/x/ledger/config', revision: 42 };
  // the ledger takes the config at its next read (44 s): its Redis calls time out and the breaker opens
  const broken = (s: number) => s > 44 && s <= 80;
  const all = [
    series('ledger_dependency_errors_total:rate', { service: 'ledger', member: 'ledger-1', dependency: 'redis' }, (s) => (broken(s) ? 40 : 0)),
    series('ledger_breaker_state', { service: 'ledger', member: 'ledger-1', dependency: 'redis' }, (s) => (broken(s) ? 2 : 0)),
    series('ledger_requests_total:rate', { service: 'ledger', member: 'ledger-1', route: 'POST /transfer', code: '500' }, (s) => (broken(s) ? 30 : 0)),
    series('load_error_ratio', { load: 'api', op: 'all' }, (s) => (broken(s) ? 0.6 : 0)),
  ];
  const pushed = run(services, [fault('push', 'config', ['ledger-1'], 'ledger', 40_000, 80_000)], [write], specs);
  const [d] = diagnoseRun(pushed, all).faults;
  assert.deepEqual(d!.truth, ['ledger', 'ledger-1']);
  assert.equal(d!.truthCause, 'config-change');
  assert.equal(d!.top1, true, JSON.stringify(d!.hypotheses, null, 1));
  assert.equal(d!.hypotheses[0]!.component.id, 'ledger');
  assert.equal(d!.hypotheses[0]!.cause, 'config-change');
  assert.match(d!.hypotheses[0]!.evidence[0]!, /breaker\.timeoutMs 200 -> 1/);
  // named once the symptoms are plain (3 points from 45 s), and kept although the 40 s fault outlasts the 30 s window
  assert.ok(d!.ttlMs !== null && d!.ttlMs >= 5000 && d!.ttlMs <= 8000, `TTL ${d!.ttlMs}`);
  // without the write in the timeline the same symptoms point at the link: the change is what names the app
  const [blind] = diagnoseRun({ ...pushed, timeline: [] }, all).faults;
  assert.equal(blind!.hypotheses[0]!.component.id, 'ledger->redis');
  // a write with no symptoms after it names nothing, nor does one with a single anomalous point since
  assert.deepEqual(new Localizer(pushed, all).rank(43_000), []);
  assert.notEqual(new Localizer(pushed, all).rank(45_000)[0]?.contributions[0]?.family, 'change');
});

test('leader churn: every member shows it while leadership moves between them, so the service is named, not a member', () => {
  const members = ['etcd-1', 'etcd-2', 'etcd-3'];
  const timeline: TimelineEvent[] = [];
  for (let i = 0; i < 6; i++) timeline.push({ t: 41_000 + i * 3000, kind: 'leader-change', detail: 'move', service: 'etcd', from: members[i % 3]!, to: members[(i + 1) % 3]!, term: 3 + i });
  const input = run([{ name: 'etcd', kind: 'etcd', replicas: 3 }], [fault('churn', 'leader-churn', members, 'etcd')], timeline);
  const all = [
    ...members.map((m) => series('etcd_server_leader_changes_seen_total:rate', { service: 'etcd', member: m }, (s) => (s > 40 && s <= 60 && s % 3 === 2 ? 1 : 0))),
    ...members.map((m) => series('grpc_server_handling_seconds:p99_ms', { service: 'etcd', member: m, grpc_method: 'Put' }, (s) => (s > 40 && s <= 60 && s % 3 === 2 ? 60 : 5))),
  ];
  const [d] = diagnoseRun(input, all).faults;
  assert.deepEqual(d!.truth, ['etcd']);
  assert.equal(d!.hypotheses[0]!.component.id, 'etcd', JSON.stringify(d!.hypotheses, null, 1));
  assert.equal(d!.hypotheses[0]!.cause, 'leadership-instability');
  assert.match(d!.hypotheses[0]!.evidence.join('\n'), /every member etcd's leadership moved away from shows it \(etcd-1, etcd-2, etcd-3\)/);
  assert.ok(d!.ttlMs !== null);
});

test('two faults at once on two services: each is judged with the other\'s component left out', () => {
  const services = [{ name: 'classic', kind: 'etcd', replicas: 3 }, { name: 'prevote', kind: 'etcd', replicas: 3 }];
  const input = run(services, [fault('cut-classic', 'partition', ['classic-3'], 'classic'), fault('cut-prevote', 'partition', ['prevote-1'], 'prevote')]);
  const all = [...isolation('classic', 'classic-3', ['classic-1', 'classic-2']), ...isolation('prevote', 'prevote-1', ['prevote-2', 'prevote-3'])];
  const diagnosis = diagnoseRun(input, all);
  assert.deepEqual(diagnosis.faults.map((f) => [f.faultId, f.top1, f.hypotheses[0]!.component.id]), [['cut-classic', true, 'classic-3'], ['cut-prevote', true, 'prevote-1']]);
});

test('where each fault really was, by type', () => {
  const topology = topologyOf({ twin: { services: [{ name: 'etcd', kind: 'etcd', replicas: 3 }, { name: 'redis', kind: 'redis', replicas: 1 }, { name: 'ledger', kind: 'app', replicas: 1, links: ['redis', 'etcd'] }] }, load: [] } as unknown as Journal['scenario']);
  assert.deepEqual(topology.links.map((l) => l.id), ['ledger->redis', 'ledger->etcd']);
  const scenario = { faults: [{ id: 'reset', type: 'toxic', toxic: 'reset_peer', app: 'ledger', service: 'redis' }, { id: 'churn', type: 'leader-churn' }] } as unknown as Journal['scenario'];
  assert.deepEqual([...truthOf(fault('reset', 'toxic', ['ledger-1', 'redis-1'], 'redis'), scenario, topology).components], ['ledger->redis', 'redis', 'redis-1']);
  assert.equal(truthOf(fault('reset', 'toxic', [], 'redis'), scenario, topology).cause, 'network-cut');
  // leader churn hits the service's leadership, not one member: naming any member is not an answer
  assert.deepEqual([...truthOf(fault('churn', 'leader-churn', ['etcd-1', 'etcd-2', 'etcd-3'], 'etcd'), scenario, topology).components], ['etcd']);
  // a config push is the app's (and its one member's)
  const pushed = truthOf(fault('push', 'config', ['ledger-1'], 'ledger'), { faults: [{ id: 'push', type: 'config', app: 'ledger' }] } as unknown as Journal['scenario'], topology);
  assert.deepEqual([...pushed.components], ['ledger', 'ledger-1']);
  assert.equal(pushed.cause, 'config-change');
  // series find their component
  assert.deepEqual(classify({ name: 'ledger_dependency_errors_total:rate', labels: { service: 'ledger', member: 'ledger-1', dependency: 'etcd' } }, topology), { component: 'ledger->etcd', family: 'dependency', cause: 'network-cut' });
  assert.equal(classify({ name: 'otel_span_p99_ms', labels: { service: 'ledger', span: 'redis GET' } }, topology)?.component, 'ledger->redis');
  assert.equal(classify({ name: 'load_schedule_lag_p99_ms', labels: { load: 'kv' } }, topology), undefined);
  // the generator's own account of itself is never evidence about the twin
  assert.equal(classify({ name: 'load_late_ratio', labels: { load: 'kv' } }, topology), undefined);
  assert.equal(classify({ name: 'load_dropped_per_sec', labels: { load: 'kv' } }, topology), undefined);
});

test('the recorded leader isolation of the report fixture is localized to the isolated leader', () => {
  const dir = new URL('../reports/fixtures/etcd-split-brain', import.meta.url).pathname;
  const journal = readJournal(dir);
  const [d] = diagnoseRun(journal, readSeriesFile(join(dir, 'series.jsonl'))).faults;
  assert.equal(d!.faultId, 'isolate-leader');
  assert.deepEqual(d!.truth, journal.faults[0]!.hosts);
  assert.equal(d!.top1, true, JSON.stringify(d!.hypotheses, null, 1));
  assert.ok(d!.ttlMs !== null);
});
