import { errorMessage } from '../core/errors.ts';
import { engineReport, kafkaInstall, toxiproxyServer } from '../twin/index.ts';
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { goFunctions } from '../bpf/index.ts';
import { run, which } from '../core/exec.ts';

interface Check {
  name: string;
  ok: boolean;
  detail: string;
  /** what a failed check breaks; optional checks do not fail the doctor */
  needed: boolean;
}

/** Tells what is installed or missing, and whether root, netns, nftables and tracefs work. */
export async function doctor(): Promise<number> {
  const checks: Check[] = [];
  const add = (name: string, ok: boolean, detail: string, needed = true) => checks.push({ name, ok, detail, needed });

  const major = Number(process.versions.node.split('.')[0]);
  add('node', major >= 24, `${process.version}${major >= 24 ? '' : ' (moat needs 24 or later)'}`);
  add('root', process.getuid?.() === 0, process.getuid?.() === 0 ? 'running as root' : 'network namespaces and nftables need root');
  for (const [program, why, needed] of [
    ['ip', 'iproute2: namespaces, veths, bridge', true],
    ['nft', 'nftables: partitions', true],
    ['etcd', 'etcd-server: the etcd twin', true],
    ['etcdctl', 'etcd-client: manual inspection', false],
    ['bpftrace', 'eBPF probes: kernel evidence that faults took effect', false],
    ['java', 'Java 17+: Kafka twins', false],
    ['redis-server', 'redis-server: redis services', false],
    ['go', 'Go: builds the ledger service and Toxiproxy', false],
    ['prometheus', 'Prometheus: scenarios with alerts: rules', false],
    ['promtool', 'promtool: checks alert rule files', false],
    ['prometheus-alertmanager', 'Alertmanager: alerts: with a route', false],
  ] as const) {
    const path = (await which(program)) ?? (program === 'go' && existsSync('/usr/local/go/bin/go') ? '/usr/local/go/bin/go' : undefined);
    const apt: Record<string, string> = { ip: 'iproute2', nft: 'nftables', etcd: 'etcd-server', etcdctl: 'etcd-client', java: 'openjdk-17-jdk-headless', promtool: 'prometheus' };
    add(program, path !== undefined, path ? `${path} (${why})` : `missing (${why}); ${program === 'go' ? 'install the Go toolchain' : `apt-get install ${apt[program] ?? program}`}`, needed);
  }
  try {
    const kafka = await kafkaInstall();
    add('kafka', true, `Apache Kafka ${kafka.version} in ${kafka.home} (Kafka twins)`, false);
  } catch (error) {
    add('kafka', false, `${errorMessage(error)}`, false);
  }
  try {
    add('toxiproxy', true, `${toxiproxyServer()} (links of a service under test)`, false);
  } catch (error) {
    add('toxiproxy', false, errorMessage(error), false);
  }
  // the containers backend: Docker's engine (scripts/setup.sh installs docker.io and starts it)
  const engine = await engineReport();
  add('docker engine', !('error' in engine), 'error' in engine ? `${engine.error} (twin.backend: containers needs it)` : `Docker ${engine.version}, storage ${engine.storageDriver}, cgroups ${engine.cgroup}, ${engine.images} moat image(s) cached (twin.backend: containers)`, false);
  add('debootstrap', (await which('debootstrap')) !== undefined, (await which('debootstrap')) ? 'builds the containers backend\'s base image from apt\'s own sources' : 'missing (apt-get install debootstrap): the containers backend builds its base image with it', false);
  if (process.getuid?.() === 0) {
    const name = `moat-doctor-${process.pid}`;
    const netns = await run('ip', ['netns', 'add', name], { allowFailure: true });
    if (netns.code === 0) {
      const nft = await run('ip', ['netns', 'exec', name, 'nft', 'add', 'table', 'inet', 'moat_doctor'], { allowFailure: true });
      add('netns', true, 'a network namespace can be created');
      add('nftables in netns', nft.code === 0, nft.code === 0 ? 'tables can be created inside a namespace' : nft.stderr.trim());
      await run('ip', ['netns', 'delete', name], { allowFailure: true });
    } else {
      add('netns', false, netns.stderr.trim());
    }
  }
  const tracefs = existsSync('/sys/kernel/tracing/events') || existsSync('/sys/kernel/debug/tracing/events');
  add('tracefs', tracefs, tracefs ? 'mounted' : 'not mounted (mount -t tracefs nodev /sys/kernel/tracing); needed by eBPF probes', false);
  if (process.getuid?.() === 0 && tracefs && (await which('bpftrace'))) {
    // which kinds of probe this kernel and bpftrace accept: each one attached for an instant
    const etcd = await which('etcd');
    const kinds: [string, string, string][] = [
      ['tracepoints', 'tracepoint:sched:sched_switch { exit(); }', 'tcp-retransmit, tcp-state, runq-latency, syscall-errors, process-exits'],
      ['uprobes', etcd ? `uprobe:${realpathSync(etcd)}:0x${(goFunctions(realpathSync(etcd), new Set(['runtime.mallocgc']))[0]?.fileOffset ?? 0).toString(16)} { exit(); }` : '', 'go-gc, go-sched'],
      ['kprobes', 'kprobe:do_nanosleep { exit(); }', 'nothing in moat needs them'],
      ['fentry', 'fentry:do_nanosleep { exit(); }', 'nothing in moat needs them'],
    ];
    for (const [kind, program, usedBy] of kinds) {
      if (!program) {
        add(`bpf ${kind}`, false, 'no Go binary to try them on', false);
        continue;
      }
      const result = await run('timeout', ['15', 'bpftrace', '--unsafe', '-e', `${program} interval:ms:200 { exit(); }`], { allowFailure: true });
      const ok = result.code === 0;
      add(`bpf ${kind}`, ok, ok ? `work (${usedBy})` : `not available: ${(result.stderr.split('\n').find((l) => l.startsWith('ERROR') && !l.includes('RLIMIT')) ?? 'bpftrace failed').slice(0, 140)}`, false);
    }
  }
  const bridgeNf = readIfExists('/proc/sys/net/bridge/bridge-nf-call-iptables');
  add('bridge netfilter', true, bridgeNf === '1' ? 'br_netfilter is on; moat turns it off per twin bridge' : 'off', false);

  for (const c of checks) process.stdout.write(`${c.ok ? 'ok  ' : c.needed ? 'FAIL' : 'warn'}  ${c.name.padEnd(18)} ${c.detail}\n`);
  const failed = checks.filter((c) => !c.ok && c.needed);
  process.stdout.write(failed.length === 0 ? 'moat can run here\n' : `${failed.length} required check${failed.length === 1 ? '' : 's'} failed\n`);
  return failed.length === 0 ? 0 : 1;
}

function readIfExists(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8').trim();
  } catch {
    return undefined;
  }
}
