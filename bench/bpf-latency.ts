// Event-to-series latency of the eBPF probes at a 1 s interval: a TCP connection is opened from
// one twin host to another at a random moment, and the time until its state changes appear as
// a point in the series store is measured; 15 samples, median and p99 (target: under 2 s).
// Run: node bench/bpf-latency.ts [samples]
import { join } from 'node:path';
import { twinUp } from '../twin/index.ts';
import { BpfObserver } from '../bpf/index.ts';
import { SeriesStore } from '../observe/index.ts';
import { sleep } from '../core/units.ts';
import { benchLedger, median, percentile, report } from './lib.ts';

const samples = Number(process.argv[2] ?? 15);
const { runId, ledger, logDir } = benchLedger();
const twin = await twinUp({ backend: 'netns', services: [{ name: 'etcd', kind: 'etcd', replicas: 3, heartbeatMs: 100, electionMs: 1000, preVote: false }] }, { runId, ledger, logDir });
const zero = performance.now();
const now = () => performance.now() - zero;
const store = new SeriesStore();
const hostOfIp = new Map([...twin.hosts.values()].map((h) => [h.ip, h.name]));
const hostOfPid = new Map(twin.backend.processes.map((p) => [p.pid, p.host]));
const bpf = await BpfObserver.start({
  probes: ['tcp-state'], intervalMs: 1000, comms: ['etcd'], ledger, dir: join(logDir, 'bpf'), now, store,
  hostOfIp: (ip) => hostOfIp.get(ip), hostOfPid: (pid) => hostOfPid.get(pid), onEvent: () => undefined,
});
const latencies: number[] = [];
try {
  for (let i = 0; i < samples; i++) {
    await sleep(1000 + Math.random() * 1000);
    const before = now();
    // a fresh connection from etcd-1 to etcd-2's client port: SYN_SENT, ESTABLISHED, then close
    await twin.backend.canConnect('etcd-1', twin.backend.host('etcd-2').ip, 2379, 500);
    const deadline = before + 5000;
    let seenAt: number | undefined;
    while (now() < deadline && seenAt === undefined) {
      const series = store.snapshot().find((s) => s.name === 'bpf_tcp_state_changes_per_sec' && s.labels.host === 'etcd-1' && s.labels.peer === 'etcd-2');
      if (series) for (let j = 0; j < series.t.length; j++) if (series.t[j]! > before && series.v[j]! > 0) seenAt = series.t[j];
      if (seenAt === undefined) await sleep(10);
    }
    if (seenAt === undefined) throw new Error('the connection never showed up in the series');
    latencies.push(seenAt - before);
  }
} finally {
  await bpf.stop();
  await twin.down();
  ledger.close();
}
process.stdout.write(`${samples} connections, event to series point (ms): ${latencies.map((l) => l.toFixed(0)).join(', ')}\n`);
report([
  { name: 'event-to-series latency p50', measured: median(latencies), target: 2000, unit: 'ms' },
  { name: 'event-to-series latency p99', measured: percentile(latencies, 99), target: 2000, unit: 'ms' },
]);
