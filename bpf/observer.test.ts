import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { get } from 'node:http';
import { tempDir } from '../core/testing.ts';
import { randomBytes } from 'node:crypto';
import { ResourceLedger } from '../core/resources.ts';
import { SeededRandom } from '../core/random.ts';
import { waitFor } from '../core/units.ts';
import { SeriesStore } from '../observe/index.ts';
import { twinUp, resolveTarget, EtcdCluster } from '../twin/index.ts';
import { partitionInjector } from '../injectors/partition/index.ts';
import { isVerifiable, type InjectionContext } from '../injectors/index.ts';
import { BpfObserver } from './index.ts';

test('eBPF probes see a real partition between exactly the cut hosts, a SIGKILL of a member, and the Go runtime', { timeout: 180_000 }, async (t) => {
  const runId = randomBytes(3).toString('hex');
  const stateDir = tempDir(t, 'state');
  const ledger = ResourceLedger.open(runId, { stateDir });
  const dir = tempDir(t, 'bpf');
  await using twin = await twinUp({ backend: 'netns', services: [{ name: 'etcd', kind: 'etcd', replicas: 3, heartbeatMs: 100, electionMs: 1000, preVote: false }] }, { runId, ledger, logDir: dir });
  const zero = performance.now();
  const now = () => performance.now() - zero;
  const store = new SeriesStore();
  const events: string[] = [];
  const ipToHost = new Map([...twin.hosts.values()].map((h) => [h.ip, h.name]));
  const pidToHost = new Map(twin.backend.processes.map((p) => [p.pid, p.host]));
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
    try {
      // What the kernel guarantees: the peers' segments to the isolated member are dropped at its
      // input, so the peers retransmit and the tracepoint fires for peer -> etcd-1. Segments from
      // etcd-1 are dropped by its own output chain, where the send fails with EPERM before
      // tcp_retransmit_skb is reached: no series with src = etcd-1 is promised.
      await waitFor('retransmits from a peer to the isolated member', 30_000, async () =>
        store.snapshot().some((s) => s.name === 'bpf_tcp_retransmits_per_sec' && s.labels.dst === 'etcd-1' && s.labels.src !== 'etcd-1' && Math.max(...s.v) > 0) ? true : undefined);
      assert.ok(isVerifiable(fault));
      const evidence = (await fault.verify()).filter((e) => e.kind === 'ebpf');
      assert.deepEqual(evidence.map((e) => e.ok), [true, true], JSON.stringify(evidence));
    } finally {
      await fault.heal();
    }

    // the Go runtime of every member, seen through uprobes at addresses read from .gopclntab; each
    // new HTTP connection to a member starts a goroutine (net/http serves each one on its own)
    for (const name of ['bpf_go_span_refills_per_sec', 'bpf_go_goroutines_created_per_sec']) {
      let hosts: string[] = [];
      await waitFor(`${name} from every member`, 30_000, async () => {
        await Promise.all(twin.of('etcd', EtcdCluster).members.map((m) => freshConnection(`${m.clientUrl}/health`)));
        hosts = store.snapshot().filter((s) => s.name === name && Math.max(...s.v) > 0).map((s) => s.labels.host!).sort();
        return hosts.join(',') === 'etcd-1,etcd-2,etcd-3' ? true : undefined;
      }, 250).catch((error: Error) => assert.fail(`${error.message}; seen from ${hosts.join(', ') || 'none'}`));
    }

    const victim = twin.backend.processes.find((p) => p.host === 'etcd-3')!;
    victim.stopping = true;
    process.kill(victim.pid, 'SIGKILL');
    await waitFor('the kernel to report the SIGKILL', 15_000, async () => (events.includes(`kernel: SIGKILL sent to etcd-3 (pid ${victim.pid})`) ? true : undefined));
  } finally {
    await bpf.stop();
  }
  assert.ok(!ledger.outstanding().some((r) => r.kind === 'process' && r.name === 'bpftrace'), 'bpftrace struck off after it stopped');
});

/** One GET on a connection of its own (no keep-alive), so that the server accepts a new connection. */
function freshConnection(url: string): Promise<void> {
  return new Promise((resolve) => {
    const request = get(url, { agent: false, timeout: 1000 }, (response) => {
      response.resume();
      response.on('end', resolve);
    });
    request.on('error', () => resolve());
    request.on('timeout', () => request.destroy());
  });
}
