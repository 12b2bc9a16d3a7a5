import { openSync, closeSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { run, type ExecResult } from '../../../core/exec.ts';
import { TwinError } from '../../../core/errors.ts';
import { spawnTracked, type ResourceLedger } from '../../../core/resources.ts';
import { killNetnsProcesses } from './resources.ts';
import { procStat } from '../../../core/proc.ts';
import { cutNamespaces, netnsCanConnect, netnsExec, releaseNamespaces, removeGuard, trackConnections, type NamespacedHost } from './namespaces.ts';
import { IMAGE_COMMAND, type Cut, type HostResources, type ManagedProcess, type PartitionPlan, type ResourceLimits, type TwinBackend } from '../types.ts';
import { HostCgroups } from './cgroups.ts';
import { chooseSubnet } from './subnet.ts';

export interface NetnsHost extends NamespacedHost {
  /** Network namespace, e.g. `moat-3f9a1c-etcd-2`. */
  netns: string;
  /** Host-side veth, on the run's bridge. */
  veth: string;
}

/**
 * A network of namespaces on one bridge, all named after the run id and recorded in the
 * ledger before they exist. Processes run inside with their output in the run folder.
 */
export class NetnsNetwork implements TwinBackend {
  readonly runId: string;
  readonly bridge: string;
  readonly gateway: string;
  /** OTLP/HTTP's usual port: the gateway address is the run's own */
  readonly otlpPort = 4318;
  readonly hosts = new Map<string, NetnsHost>();
  readonly processes: ManagedProcess[] = [];
  readonly #ledger: ResourceLedger;
  readonly #logDir: string;
  readonly #prefix: string;

  private constructor(runId: string, ledger: ResourceLedger, logDir: string, prefix: string, gateway: string) {
    this.runId = runId;
    this.#ledger = ledger;
    this.#logDir = logDir;
    this.#prefix = prefix;
    this.gateway = gateway;
    this.bridge = `mb-${runId}`;
  }

  /** hosts with cgroups (resource limits, or the target of a resource fault) */
  readonly #cgroups = new Map<string, HostCgroups>();

  /**
   * `limits`: the hosts that get cgroups, with their starting limits (an empty object: none yet,
   * for a host only a resource fault will limit).
   */
  static async create(options: { runId: string; ledger: ResourceLedger; logDir: string; hostNames: readonly string[]; limits?: ReadonlyMap<string, ResourceLimits> }): Promise<NetnsNetwork> {
    if (options.hostNames.length > 200) throw new TwinError(`a netns twin holds at most 200 hosts, saw ${options.hostNames.length}`);
    const { prefix, gateway } = await chooseSubnet(parseInt(options.runId.slice(0, 2), 16));
    const network = new NetnsNetwork(options.runId, options.ledger, options.logDir, prefix, gateway);
    try {
      await network.#createBridge();
      await Promise.all(options.hostNames.map((name, index) => network.#createHost(name, index)));
      for (const [host, limits] of options.limits ?? []) network.#cgroups.set(host, HostCgroups.create(options.runId, host, options.ledger, limits));
    } catch (error) {
      await network.destroy();
      throw new TwinError(`could not build the netns twin: ${(error as Error).message}`, { cause: error });
    }
    return network;
  }

  resources(host: string): HostResources | undefined {
    return this.#cgroups.get(host);
  }

  host(name: string): NetnsHost {
    const host = this.hosts.get(name);
    if (!host) throw new TwinError(`no host ${JSON.stringify(name)} in the twin (hosts: ${[...this.hosts.keys()].join(', ')})`);
    return host;
  }

  async #createBridge(): Promise<void> {
    this.#ledger.add({ kind: 'link', name: this.bridge });
    await run('ip', ['link', 'add', this.bridge, 'type', 'bridge']);
    // Keep bridged twin traffic out of the host's iptables (a host firewall's FORWARD DROP must not
    // partition the twin by accident); older kernels may lack the knob, which is harmless.
    await run('ip', ['link', 'set', this.bridge, 'type', 'bridge', 'nf_call_iptables', '0'], { allowFailure: true });
    await run('ip', ['addr', 'add', `${this.gateway}/24`, 'dev', this.bridge]);
    await this.#guard();
    await run('ip', ['link', 'set', this.bridge, 'up']);
  }

  /**
   * The twin's control surfaces (etcd, Redis, the Toxiproxy API, the run's OTLP receiver on the
   * gateway) answer whoever reaches the bridge. A table in the host's namespace keeps other local
   * users out (only root, which moat runs as, may open connections to the twin's subnet) and
   * drops anything routed into the twin from another interface (a container, another namespace).
   * Root processes on the host can still connect: that is documented in the README.
   */
  async #guard(): Promise<void> {
    const table = `moat_${this.runId}_guard`;
    this.#ledger.add({ kind: 'nft-table', netns: '', family: 'inet', name: table });
    await run('nft', ['-f', '-'], { input: guardTable(table, this.bridge, `${this.#prefix}.0/24`, this.gateway) });
  }

  async #createHost(name: string, index: number): Promise<void> {
    const netns = `moat-${this.runId}-${name}`;
    const veth = `mv-${this.runId}-${index}`;
    if (veth.length > 15) throw new TwinError(`interface name ${veth} exceeds 15 characters`);
    const ip = `${this.#prefix}.${10 + index}`;
    this.#ledger.add({ kind: 'netns', name: netns });
    await run('ip', ['netns', 'add', netns]);
    this.#ledger.add({ kind: 'link', name: veth });
    await run('ip', ['link', 'add', veth, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', netns]);
    await run('ip', ['link', 'set', veth, 'master', this.bridge, 'up']);
    await run('ip', ['-n', netns, 'addr', 'add', `${ip}/24`, 'dev', 'eth0']);
    await run('ip', ['-n', netns, 'link', 'set', 'eth0', 'up']);
    await run('ip', ['-n', netns, 'link', 'set', 'lo', 'up']);
    await trackConnections(this.runId, this.#ledger, netns);
    this.hosts.set(name, { name, netns, ip, veth });
  }

  /** Runs a command inside a host's namespace to completion. */
  exec(hostName: string, command: string, args: readonly string[], options: { allowFailure?: boolean; input?: string; timeoutMs?: number } = {}): Promise<ExecResult> {
    return netnsExec(this.host(hostName).netns, command, args, options);
  }

  /** Whether a TCP connection from inside `fromHost` to ip:port opens within the timeout. */
  canConnect(fromHost: string, ip: string, port: number, timeoutMs = 500): Promise<boolean> {
    return netnsCanConnect(this.host(fromHost).netns, ip, port, timeoutMs);
  }

  /**
   * Starts a long-running process inside a host; stdout and stderr go to `<logDir>/<name>.log`.
   * With `env`, that is its whole environment, handed over by the kernel and never put on a
   * command line (where any local user could read it with ps).
   */
  async spawn(hostName: string, name: string, command: string, args: readonly string[], env?: Readonly<Record<string, string>>): Promise<ManagedProcess> {
    const host = this.host(hostName);
    if (command.startsWith(IMAGE_COMMAND)) throw new TwinError(`${hostName}: ${command} is a container image; it runs on twin.backend: containers`);
    const logFile = join(this.#logDir, `${name}.log`);
    const fd = openSync(logFile, 'a');
    // detached: the twin's processes live in their own process group, so a Ctrl-C at the terminal
    // reaches only moat, which then heals faults and stops them in order.
    // a host with cgroups: the process joins them before it execs, so its limits hold from the start
    const cgroups = this.#cgroups.get(hostName);
    const inNetns = ['netns', 'exec', host.netns, command, ...args];
    const launch = cgroups ? cgroups.wrap('ip', inNetns) : { command: 'ip', args: inNetns };
    const { child, exited } = spawnTracked(this.#ledger, { kind: 'process', name, netns: host.netns }, launch.command, launch.args, { stdio: ['ignore', fd, fd], detached: true, ...(env ? { env: { ...env } } : {}) });
    closeSync(fd);
    if (child.pid === undefined) throw new TwinError(`could not start ${command} in ${hostName}`);
    const pid = child.pid;
    const managed: ManagedProcess = {
      host: hostName, name, pid, logFile, exited, stopping: false,
      signal(signal) {
        process.kill(pid, signal);
      },
      state() {
        const state = procStat(pid)?.state;
        return state === undefined || state === 'Z' || state === 'X' ? 'gone' : state === 'T' || state === 't' ? 'stopped' : 'running';
      },
      async stop(graceMs = 500) {
        managed.stopping = true;
        if (child.exitCode !== null || child.signalCode !== null) return;
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
        await exited;
        clearTimeout(timer);
      },
    };
    this.processes.push(managed);
    return managed;
  }

  /**
   * nftables drop rules in the namespaces that must drop traffic, in a table named after the run
   * and `id`, recorded in the ledger before each exists. The gateway (moat's side) is never cut.
   */
  cut(plan: PartitionPlan, id: string): Promise<Cut> {
    return cutNamespaces(this.runId, this.#ledger, this.hosts, plan, id);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.destroy();
  }

  /** Stops every process, then removes namespaces, veths and the bridge: reverse order of creation. */
  async destroy(): Promise<void> {
    await Promise.all(this.processes.map((p) => p.stop()));
    await Promise.all([...this.hosts.values()].map(async (host) => {
      if (existsSync(`/run/netns/${host.netns}`)) {
        await killNetnsProcesses(host.netns);
        await run('ip', ['netns', 'delete', host.netns], { allowFailure: true });
      }
      this.#ledger.remove(`nft:${host.netns}:inet:moat_${this.runId}_track`);
      this.#ledger.remove(`netns:${host.netns}`);
      // the veth pair dies with its namespace
      await run('ip', ['link', 'delete', host.veth], { allowFailure: true });
      this.#ledger.remove(`link:${host.veth}`);
    }));
    // hosts that failed half-way are still in the ledger under their names
    await releaseNamespaces(this.runId, this.#ledger);
    for (const resource of this.#ledger.outstanding()) {
      if (resource.kind === 'link' && resource.name.startsWith(`mv-${this.runId}-`)) {
        await run('ip', ['link', 'delete', resource.name], { allowFailure: true });
        this.#ledger.remove(`link:${resource.name}`);
      }
    }
    // the hosts' processes are gone with their namespaces: their cgroups can go
    for (const cgroups of this.#cgroups.values()) {
      try {
        cgroups.remove();
      } catch {
        // left in the ledger: moat cleanup removes it once the kernel lets go
      }
    }
    this.#cgroups.clear();
    await run('ip', ['link', 'delete', this.bridge], { allowFailure: true });
    this.#ledger.remove(`link:${this.bridge}`);
    await removeGuard(this.runId, this.#ledger);
    this.hosts.clear();
  }
}

export function guardTable(table: string, bridge: string, subnet: string, gateway: string): string {
  return [
    `table inet ${table} {`,
    // local processes: only root's sockets may reach the twin (moat is root; other users are not)
    `  chain output { type filter hook output priority 0; policy accept; ip daddr ${subnet} meta skuid != 0 counter drop; }`,
    // the gateway's own services take connections only from the bridge and from the host itself
    `  chain input { type filter hook input priority 0; policy accept; ip daddr ${gateway} iifname != { "${bridge}", "lo" } counter drop; }`,
    // nothing is routed into or out of the twin through any other interface
    `  chain forward { type filter hook forward priority 0; policy accept; ip daddr ${subnet} iifname != "${bridge}" counter drop; ip saddr ${subnet} oifname != "${bridge}" counter drop; }`,
    `}`,
  ].join('\n');
}
