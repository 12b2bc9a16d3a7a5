import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { ResourceLedger } from '../core/resources.ts';
import { resolveTarget } from '../runner/targets.ts';
import { SeededRandom } from '../core/random.ts';
import { sleep } from '../core/units.ts';
import { SeriesStore } from '../observe/series-store.ts';
import { twinUp } from '../twin/index.ts';
import { partitionInjector } from '../injectors/partition/index.ts';
import { isVerifiable, type InjectionContext } from '../injectors/index.ts';
import { BpfObserver } from './index.ts';

test('eBPF probes see a real partition between exactly the cut hosts, a SIGKILL of a member, and the Go runtime', { timeout: 120_000 }, async () => {
  const runId = randomBytes(3).toString('hex');
  const stateDir = mkdtempSync(join(tmpdir(), 'moat-state-'));
  const ledger = ResourceLedger.open(runId, { stateDir });
  const dir = mkdtempSync(join(tmpdir(), 'moat-bpf-'));
  await using twin = await twinUp({ backend: 'netns', services: [{ name: 'etcd', kind: 'etcd', replicas: 3, heartbeatMs: 100, electionMs: 1000, preVote: false }] }, { runId, ledger, logDir: dir });
  const zero = performance.now();
  const now = () => performance.now() - zero;
  const store = new SeriesStore();
  const events: string[] = [];
  const ipToHost = new Map([...twin.hosts.values()].map((h) => [h.ip, h.name]));
  const pidToHost = new Map(twin.network.processes.map((p) => [p.pid, p.host]));
  const bpf = await BpfObserver.start({
    probes: ['tcp-retransmit', 'tcp-state', 'process-exits', 'go-gc', 'go-sched'], goBinaries: ['/usr/bin/etcd'], intervalMs: 500, comms: ['etcd'], ledger, dir: join(dir, 'bpf'), now, store,
    hostOfIp: (ip) => ipToHost.get(ip), hostOfPid: (pid) => pidToHost.get(pid), onEvent: (e) => events.push(e),
  });
  try {
    // 1 + 2 + 3 tracepoints, 3 + 1 uprobes on the stripped etcd binary, and the interval timer
    assert.equal(await bpf.attached, 11);
    assert.ok(ledger.outstanding().some((r) => r.kind === 'process' && r.name === 'bpftrace' && r.pid !== undefined), 'bpftrace is in the ledger');
    const random = new SeededRandom(1);
    const context: InjectionContext = {
      runId, twin, ledger, random, faultIndex: 0, now, intervalMs: 500, bpf,
      resolve: (target, what, exclude) => resolveTarget(twin, target, random, what, exclude),
    };
    const fault = await partitionInjector.inject({ id: 'cut', type: 'partition', mode: 'isolate', atMs: 0, durationMs: 0, target: { kind: 'member', service: 'etcd', member: 'etcd-1', source: 'etcd-1' } }, context);
    await sleep(3000);
    assert.ok(isVerifiable(fault));
    const evidence = (await fault.verify()).filter((e) => e.kind === 'ebpf');
    assert.deepEqual(evidence.map((e) => e.ok), [true, true], JSON.stringify(evidence));
    const pairs = [...bpf.tcpBetween(0, now()).entries()].filter(([, c]) => c.retransmits + c.resets > 0).map(([pair]) => pair);
    assert.ok(pairs.length > 0 && pairs.every((p) => p.split('>').includes('etcd-1')), `pairs with retransmits: ${pairs.join(', ')}`);
    await fault.heal();

    const victim = twin.network.processes.find((p) => p.host === 'etcd-3')!;
    victim.stopping = true;
    process.kill(victim.pid, 'SIGKILL');
    const deadline = Date.now() + 5000;
    while (!events.some((e) => e.includes('etcd-3')) && Date.now() < deadline) await sleep(100);
    assert.ok(events.includes(`kernel: SIGKILL sent to etcd-3 (pid ${victim.pid})`), events.join('; '));
    assert.ok(store.snapshot().some((s) => s.name === 'bpf_tcp_retransmits_per_sec' && s.labels.src === 'etcd-1'));
    // the Go runtime of every member, seen through uprobes at addresses read from .gopclntab
    for (const name of ['bpf_go_span_refills_per_sec', 'bpf_go_goroutines_created_per_sec']) {
      const hosts = store.snapshot().filter((s) => s.name === name && Math.max(...s.v) > 0).map((s) => s.labels.host).sort();
      assert.deepEqual(hosts, ['etcd-1', 'etcd-2', 'etcd-3'], name);
    }
  } finally {
    await bpf.stop();
  }
  assert.ok(!ledger.outstanding().some((r) => r.kind === 'process' && r.name === 'bpftrace'), 'bpftrace struck off after it stopped');
});
