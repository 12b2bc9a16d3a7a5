// eBPF probe overhead: etcd put throughput of a closed loop (64 puts in flight through the etcd3
// client, 3-member twin) with every probe off, then on, alternating, 4 rounds of 8 s each way in
// one run. Prints the medians, on/off as a ratio of medians and as the median of each round's
// ratio (targets: the default set at most 5% loss, all probes at most 8%).
// Run: node bench/probe-overhead.ts [rounds] [seconds] [probe,probe,...]   (default: all probes)
import { join } from 'node:path';
import { realpathSync } from 'node:fs';
import { Etcd3 } from 'etcd3';
import { twinUp, EtcdCluster } from '../twin/index.ts';
import { BpfObserver, BPF_PROBES } from '../bpf/index.ts';
import { SeriesStore } from '../observe/index.ts';
import { benchLedger, median, etcdPutThroughput, peakRssMiB } from './lib.ts';

const rounds = Number(process.argv[2] ?? 4);
const seconds = Number(process.argv[3] ?? 8);
const probes = (process.argv[4]?.split(',') ?? [...BPF_PROBES]) as (typeof BPF_PROBES)[number][];
const { runId, ledger, logDir } = benchLedger();
const twin = await twinUp({ backend: 'netns', services: [{ name: 'etcd', kind: 'etcd', replicas: 3, heartbeatMs: 100, electionMs: 1000, preVote: false }] }, { runId, ledger, logDir });
const client = new Etcd3({ hosts: twin.of('etcd', EtcdCluster).endpoints });

const throughput = () => etcdPutThroughput(client, seconds);

const off: number[] = [];
const on: number[] = [];
try {
  for (let r = 0; r < rounds; r++) {
    off.push(await throughput());
    const zero = performance.now();
    const hostOfIp = new Map([...twin.hosts.values()].map((h) => [h.ip, h.name]));
    const hostOfPid = new Map(twin.backend.processes.map((p) => [p.pid, p.host]));
    const bpf = await BpfObserver.start({
      probes, goBinaries: [realpathSync('/usr/bin/etcd')], intervalMs: 1000, comms: ['etcd'], ledger, dir: join(logDir, `bpf-${r}`),
      now: () => performance.now() - zero, store: new SeriesStore(), hostOfIp: (ip) => hostOfIp.get(ip), hostOfPid: (pid) => hostOfPid.get(pid), onEvent: () => undefined,
    });
    on.push(await throughput());
    await bpf.stop();
    process.stdout.write(`round ${r + 1}: off ${off[r]!.toFixed(0)} puts/s, on ${on[r]!.toFixed(0)} puts/s\n`);
  }
} finally {
  client.close();
  await twin.down();
  ledger.close();
}
const ratio = median(on) / median(off);
// each round's on against the off just before it: drift of the machine between rounds cancels
const paired = median(on.map((v, i) => v / off[i]!));
// the budget (issue 15): the default set at most 5% of put throughput, every probe at most 8%
const all = BPF_PROBES.every((p) => probes.includes(p));
const limit = all ? 0.08 : 0.05;
process.stdout.write(`probes ${probes.join(', ')}: median ${median(on).toFixed(0)} puts/s on vs ${median(off).toFixed(0)} off, ratio ${ratio.toFixed(3)}, paired ratio ${paired.toFixed(3)} (${((1 - paired) * 100).toFixed(1)}% loss; target <= ${limit * 100}%${all ? ' for all probes' : ''}: ${paired >= 1 - limit ? 'meets' : 'MISSES'}); peak RSS ${peakRssMiB().toFixed(0)} MiB\n`);
