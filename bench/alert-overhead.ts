// What a team's alerting costs the twin: etcd put throughput of a closed loop (64 puts in flight,
// 3-member twin) with a real Prometheus scraping every member each second and evaluating etcd's
// published rules (scenarios/rules/etcd.yaml) each second, against the same with that Prometheus
// paused (SIGSTOP: no CPU, no scrapes, no evaluations). One Prometheus is started and warmed up
// once, so its start-up is not counted; the rounds alternate in ABBA order so a drifting machine
// weighs on both sides alike. Prints the medians and on/off as a ratio (target >= 0.95).
// Run: node bench/alert-overhead.ts [rounds] [seconds]
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Etcd3 } from 'etcd3';
import { twinUp, EtcdCluster } from '../twin/index.ts';
import { PrometheusServer, MetricsExporter } from '../observe/index.ts';
import { sleep } from '../core/units.ts';
import { benchLedger, median, peakRssMiB, etcdPutThroughput } from './lib.ts';

const rounds = Number(process.argv[2] ?? 8);
const seconds = Number(process.argv[3] ?? 6);
const rules = new URL('../scenarios/rules/etcd.yaml', import.meta.url).pathname;
const { runId, ledger, logDir } = benchLedger();
const twin = await twinUp({ backend: 'netns', services: [{ name: 'etcd', kind: 'etcd', replicas: 3, heartbeatMs: 100, electionMs: 1000, preVote: false }] }, { runId, ledger, logDir });
const etcd = twin.of('etcd', EtcdCluster);
const client = new Etcd3({ hosts: etcd.endpoints });

const throughput = () => etcdPutThroughput(client, seconds);

const off: number[] = [];
const on: number[] = [];
const dataDir = join('/dev/shm', `moat-${runId}-prometheus`);
ledger.add({ kind: 'dir', path: dataDir });
mkdirSync(dataDir, { mode: 0o700 });
const exporter = await MetricsExporter.start({ host: twin.backend.gateway, values: () => [] });
let prometheus: PrometheusServer | undefined;
try {
  prometheus = await PrometheusServer.start({
    ledger, dataDir, host: twin.backend.gateway, port: 9090, name: 'prometheus', logFile: join(logDir, 'prometheus.log'),
    scrapeIntervalMs: 1000, evaluationIntervalMs: 1000, ruleFiles: [rules], runLabel: runId,
    jobs: [
      { name: 'etcd', metricsPath: '/metrics', targets: etcd.scrapeTargets().map((t) => ({ address: new URL(t.url).host, labels: t.labels })) },
      { name: 'moat', metricsPath: '/metrics', targets: [{ address: exporter.address, labels: {} }] },
    ],
  });
  await sleep(5000); // first scrapes, evaluations and the head block settle
  const pid = prometheus.pid;
  for (let r = 0; r < rounds; r++) {
    // ABBA: on, off, off, on, on, off, ...
    for (const state of r % 2 === 0 ? ['on', 'off'] as const : ['off', 'on'] as const) {
      process.kill(pid, state === 'on' ? 'SIGCONT' : 'SIGSTOP');
      (state === 'on' ? on : off).push(await throughput());
    }
    process.stdout.write(`round ${r + 1}: with Prometheus + rules ${on[r]!.toFixed(0)} puts/s, paused ${off[r]!.toFixed(0)} puts/s (${(on[r]! / off[r]!).toFixed(3)})\n`);
  }
  process.kill(pid, 'SIGCONT');
} finally {
  if (prometheus) await prometheus.stop();
  await exporter.close();
  client.close();
  await twin.down();
  rmSync(dataDir, { recursive: true, force: true });
  ledger.remove(`dir:${dataDir}`);
  ledger.close();
}
const ratio = median(on) / median(off);
const paired = median(on.map((v, i) => v / off[i]!));
process.stdout.write(`Prometheus 2.42 scraping 3 members at 1 s, etcd's 6 rules at 1 s, ${rounds} rounds of ${seconds} s: median ${median(on).toFixed(0)} puts/s vs ${median(off).toFixed(0)} paused, ratio ${ratio.toFixed(3)}, median of paired ratios ${paired.toFixed(3)} (target >= 0.95: ${ratio >= 0.95 ? 'meets' : 'MISSES'}); peak RSS ${peakRssMiB().toFixed(0)} MiB\n`);
