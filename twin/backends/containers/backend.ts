import { createWriteStream, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { run, type ExecResult } from '../../../core/exec.ts';
import { TwinError, errorMessage } from '../../../core/errors.ts';
import { procStat } from '../../../core/proc.ts';
import type { ResourceLedger } from '../../../core/resources.ts';
import { cutNamespaces, netnsCanConnect, netnsExec, releaseNamespaces, removeGuard, trackConnections, type ExecOptions, type NamespacedHost } from '../netns/namespaces.ts';
import { guardTable } from '../netns/network.ts';
import { HostCgroups } from '../netns/cgroups.ts';
import { chooseSubnet } from '../netns/subnet.ts';
import { IMAGE_COMMAND, type Cut, type HostResources, type ManagedProcess, type PartitionPlan, type ResourceLimits, type ResourceUsage, type TwinBackend } from '../types.ts';
import { engine, RUN_LABEL, type Dockerode } from './engine.ts';

type Container = ReturnType<Dockerode['getContainer']>;

export interface ContainerHost extends NamespacedHost {
  /** the host's pod container (`moat-<run>-<host>`): it holds the network namespace, its processes join it */
  pod: string;
  podId: string;
}

/**
 * A twin of containers on one internal Docker network (no route out), one pod per host as in
 * Kubernetes: a small container that holds the host's network namespace and address, and one
 * container per process in that namespace, from the image of the program it runs. The namespace
 * is named like a netns host's (`ip netns attach moat-<run>-<host>`), so commands, probes and
 * partitions (nftables inside it) work exactly as on the netns backend; processes are killed,
 * paused and resumed through the engine; limits are the engine's, and resource faults change them
 * in the container's cgroups. Everything is labelled with the run id and recorded in the resource
 * ledger before it exists.
 */
export class ContainersBackend implements TwinBackend {
  readonly runId: string;
  readonly network: string;
  readonly bridge: string;
  readonly gateway: string;
  readonly otlpPort = 4318;
  readonly hosts = new Map<string, ContainerHost>();
  readonly processes: ManagedProcess[] = [];
  readonly #ledger: ResourceLedger;
  readonly #logDir: string;
  readonly #docker: Dockerode;
  readonly #images: ReadonlyMap<string, string>;
  readonly #base: string;
  readonly #dataRoot: string;
  readonly #resources = new Map<string, ContainerResources>();
  readonly #containers = new Set<string>();
  #sequence = 0;

  private constructor(options: ContainersOptions, docker: Dockerode, gateway: string) {
    this.runId = options.runId;
    this.#ledger = options.ledger;
    this.#logDir = options.logDir;
    this.#docker = docker;
    this.#images = options.images;
    this.#base = options.base;
    this.#dataRoot = options.dataRoot;
    this.network = `moat-${options.runId}`;
    this.bridge = `mb-${options.runId}`;
    this.gateway = gateway;
  }

  static async create(options: ContainersOptions): Promise<ContainersBackend> {
    if (options.hostNames.length > 200) throw new TwinError(`a containers twin holds at most 200 hosts, saw ${options.hostNames.length}`);
    const docker = (await engine()).container.dockerode;
    const { prefix, gateway } = await chooseSubnet(parseInt(options.runId.slice(0, 2), 16));
    const backend = new ContainersBackend(options, docker, gateway);
    try {
      await backend.#createNetwork(prefix);
      await Promise.all(options.hostNames.map((name, index) => backend.#createPod(name, `${prefix}.${10 + index}`)));
      for (const [host, limits] of options.limits ?? []) backend.#resources.set(host, new ContainerResources(`moat-${options.runId}-${host}`, limits));
    } catch (error) {
      await backend.destroy();
      throw new TwinError(`could not build the containers twin: ${errorMessage(error)}`, { cause: error });
    }
    return backend;
  }

  async #createNetwork(prefix: string): Promise<void> {
    this.#ledger.add({ kind: 'network', name: this.network });
    await this.#docker.createNetwork({
      Name: this.network,
      Driver: 'bridge',
      // internal: the engine routes nothing from this network anywhere else
      Internal: true,
      CheckDuplicate: true,
      Labels: { [RUN_LABEL]: this.runId },
      IPAM: { Driver: 'default', Config: [{ Subnet: `${prefix}.0/24`, Gateway: this.gateway }] },
      Options: { 'com.docker.network.bridge.name': this.bridge },
    });
    // the same guard as a netns twin's: only root reaches the twin, the gateway answers only the bridge
    const table = `moat_${this.runId}_guard`;
    this.#ledger.add({ kind: 'nft-table', netns: '', family: 'inet', name: table });
    await run('nft', ['-f', '-'], { input: guardTable(table, this.bridge, `${prefix}.0/24`, this.gateway) });
  }

  async #createPod(name: string, ip: string): Promise<void> {
    const pod = `moat-${this.runId}-${name}`;
    this.#ledger.add({ kind: 'container', name: pod });
    this.#containers.add(pod);
    const container = await this.#docker.createContainer({
      name: pod,
      Image: this.#base,
      Hostname: name,
      Entrypoint: ['sleep'],
      Cmd: ['infinity'],
      Labels: { [RUN_LABEL]: this.runId, 'moat.host': name },
      HostConfig: { NetworkMode: this.network, Init: false },
      NetworkingConfig: { EndpointsConfig: { [this.network]: { IPAMConfig: { IPv4Address: ip } } } },
    });
    await container.start();
    const pid = (await container.inspect()).State.Pid;
    // the pod's network namespace under the name a netns host's has: exec, probes and cuts work alike
    const netns = pod;
    this.#ledger.add({ kind: 'netns', name: netns });
    await run('ip', ['netns', 'attach', netns, String(pid)]);
    await trackConnections(this.runId, this.#ledger, netns);
    this.hosts.set(name, { name, ip, netns, pod, podId: container.id });
  }

  host(name: string): ContainerHost {
    const host = this.hosts.get(name);
    if (!host) throw new TwinError(`no host ${JSON.stringify(name)} in the twin (hosts: ${[...this.hosts.keys()].join(', ')})`);
    return host;
  }

  resources(host: string): HostResources | undefined {
    return this.#resources.get(host);
  }

  exec(hostName: string, command: string, args: readonly string[], options: ExecOptions = {}): Promise<ExecResult> {
    return netnsExec(this.host(hostName).netns, command, args, options);
  }

  canConnect(fromHost: string, ip: string, port: number, timeoutMs = 500): Promise<boolean> {
    return netnsCanConnect(this.host(fromHost).netns, ip, port, timeoutMs);
  }

  cut(plan: PartitionPlan, id: string): Promise<Cut> {
    return cutNamespaces(this.runId, this.#ledger, this.hosts, plan, id);
  }

  /**
   * Starts a process as a container in the host's pod, from the image that holds `command` (or
   * the user's image, `image:<ref>`, with its own entrypoint and `args` as its command). Output
   * goes to `<logDir>/<name>.log`; `env` is its whole environment.
   */
  async spawn(hostName: string, name: string, command: string, args: readonly string[], env?: Readonly<Record<string, string>>): Promise<ManagedProcess> {
    const host = this.host(hostName);
    const ownImage = command.startsWith(IMAGE_COMMAND) ? command.slice(IMAGE_COMMAND.length) : undefined;
    const image = ownImage ?? this.#images.get(command);
    if (!image) throw new TwinError(`no image of this twin holds ${command} (images hold: ${[...this.#images.keys()].join(', ')})`);
    const containerName = `moat-${this.runId}-${name}-${++this.#sequence}`;
    const resources = name === hostName ? this.#resources.get(hostName) : undefined;
    const limits = resources?.limits ?? {};
    this.#ledger.add({ kind: 'container', name: containerName });
    this.#containers.add(containerName);
    let container: Container;
    try {
      container = await this.#docker.createContainer({
        name: containerName,
        Image: image,
        ...(ownImage ? (args.length > 0 ? { Cmd: [...args] } : {}) : { Entrypoint: [command], Cmd: [...args] }),
        Env: Object.entries(env ?? { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' }).map(([k, v]) => `${k}=${v}`),
        Labels: { [RUN_LABEL]: this.runId, 'moat.host': hostName, 'moat.process': name },
        HostConfig: {
          NetworkMode: `container:${host.podId}`,
          // member data lives where the services wrote their configuration: the run's data folder, shared
          Binds: [`${this.#dataRoot}:${this.#dataRoot}`],
          ...(limits.cpuMillis !== undefined ? { NanoCpus: limits.cpuMillis * 1_000_000 } : {}),
          ...(limits.memoryBytes !== undefined ? { Memory: limits.memoryBytes, MemorySwap: -1 } : {}),
        },
      });
    } catch (error) {
      this.#ledger.remove(`container:${containerName}`);
      this.#containers.delete(containerName);
      throw new TwinError(`could not create the container for ${name} on ${hostName}: ${errorMessage(error)}`, { cause: error });
    }
    const logFile = join(this.#logDir, `${name}.log`);
    const log = createWriteStream(logFile, { flags: 'a' });
    const stream = await container.attach({ stream: true, stdout: true, stderr: true });
    this.#docker.modem.demuxStream(stream, log, log);
    stream.on('end', () => log.end());
    await container.start();
    const pid = (await container.inspect()).State.Pid;
    if (resources) resources.attach(pid);
    const ledger = this.#ledger;
    const containers = this.#containers;
    const exited = (async () => {
      let code: number;
      try {
        code = ((await container.wait()) as { StatusCode: number }).StatusCode;
      } catch {
        code = 255;
      }
      await container.remove({ force: true }).catch(() => undefined);
      ledger.remove(`container:${containerName}`);
      containers.delete(containerName);
      return code;
    })();
    const managed: ManagedProcess = {
      host: hostName, name, pid, logFile, exited, stopping: false,
      async signal(signal) {
        // through the engine: kill delivers the signal, pause and unpause use the freezer
        if (signal === 'SIGKILL') await container.kill({ signal: 'SIGKILL' });
        else if (signal === 'SIGSTOP') await container.pause();
        else await container.unpause();
      },
      state() {
        const state = procStat(pid)?.state;
        if (state === undefined || state === 'Z' || state === 'X') return 'gone';
        return frozen(pid) ? 'stopped' : 'running';
      },
      async stop(graceMs = 500) {
        managed.stopping = true;
        if (managed.state() === 'gone') {
          await exited;
          return;
        }
        if (frozen(pid)) await container.unpause().catch(() => undefined);
        await container.kill({ signal: 'SIGTERM' }).catch(() => undefined);
        const timer = setTimeout(() => { container.kill({ signal: 'SIGKILL' }).catch(() => undefined); }, graceMs);
        await exited;
        clearTimeout(timer);
      },
    };
    this.processes.push(managed);
    return managed;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.destroy();
  }

  /** Stops every process, removes every container of the run, the namespace names, the network. */
  async destroy(): Promise<void> {
    await Promise.all(this.processes.map((p) => p.stop().catch(() => undefined)));
    for (const host of this.hosts.values()) {
      this.#ledger.remove(`nft:${host.netns}:inet:moat_${this.runId}_track`);
    }
    // pods and anything left (created but not started, or not yet reaped)
    await Promise.all([...this.#containers].map(async (name) => {
      try {
        await this.#docker.getContainer(name).remove({ force: true });
      } catch (error) {
        // otherwise left in the ledger: moat cleanup removes it
        if ((error as { statusCode?: number }).statusCode !== 404) return;
      }
      this.#ledger.remove(`container:${name}`);
      this.#containers.delete(name);
    }));
    await releaseNamespaces(this.runId, this.#ledger);
    await removeGuard(this.runId, this.#ledger);
    try {
      await this.#docker.getNetwork(this.network).remove();
      this.#ledger.remove(`network:${this.network}`);
    } catch (error) {
      if ((error as { statusCode?: number }).statusCode === 404) this.#ledger.remove(`network:${this.network}`);
      // otherwise left in the ledger: moat cleanup removes it
    }
    this.hosts.clear();
  }
}

export interface ContainersOptions {
  runId: string;
  ledger: ResourceLedger;
  logDir: string;
  hostNames: readonly string[];
  /** hosts with limits (or that a resource fault will limit), with their starting limits */
  limits?: ReadonlyMap<string, ResourceLimits>;
  /** program → image tag (twinImages) */
  images: ReadonlyMap<string, string>;
  /** the base image: the pods run it */
  base: string;
  /** the run's data folder, shared with every container at the same path */
  dataRoot: string;
}

/** Whether the freezer has a process's cgroup frozen (a paused container). */
function frozen(pid: number): boolean {
  try {
    const line = readFileSync(`/proc/${pid}/cgroup`, 'utf8').split('\n').find((l) => l.split(':')[1] === 'freezer');
    if (!line) return false;
    const state = readFileSync(join('/sys/fs/cgroup/freezer', line.split(':').slice(2).join(':'), 'freezer.state'), 'utf8').trim();
    return state !== 'THAWED';
  } catch {
    return false;
  }
}

/**
 * A container host's limits: set by the engine when its main process's container is created,
 * changed (by resource faults) in that container's cgroups, and followed to a new container when
 * the process is restarted. Counters carry on across restarts (a new container's start at zero).
 */
class ContainerResources implements HostResources {
  readonly #name: string;
  #limits: ResourceLimits;
  #cgroups: HostCgroups | undefined;
  #carried: ResourceUsage = { cpuPeriods: 0, cpuThrottledPeriods: 0, cpuThrottledMs: 0, memoryBytes: 0, memoryMaxBytes: 0, memoryFailcnt: 0, oomKills: 0 };
  #last: ResourceUsage | undefined;

  constructor(name: string, limits: ResourceLimits) {
    this.#name = name;
    this.#limits = { ...limits };
  }

  get limits(): ResourceLimits {
    return { ...this.#limits };
  }

  attach(pid: number): void {
    if (this.#last) this.#carried = withCarried(this.#carried, this.#last);
    this.#last = undefined;
    this.#cgroups = HostCgroups.of(pid, this.#name, this.#limits);
  }

  #current(): HostCgroups {
    if (!this.#cgroups) throw new TwinError(`${this.#name} has no running container to limit`);
    return this.#cgroups;
  }

  set(limits: ResourceLimits): void {
    this.#current().set(limits);
    this.#limits = { ...limits };
  }

  readBack(): ResourceLimits {
    return this.#current().readBack();
  }

  usage(): ResourceUsage {
    let now: ResourceUsage;
    try {
      now = this.#current().usage();
    } catch (error) {
      // the container ended (an OOM kill, a kill fault) and the engine removed its cgroups
      if (!this.#last) throw error;
      now = this.#last;
    }
    this.#last = now;
    return withCarried(now, this.#carried);
  }
}

/** `usage` with the monotonic counters of an earlier container added (memory in use is `usage`'s own). */
function withCarried(usage: ResourceUsage, carried: ResourceUsage): ResourceUsage {
  return {
    ...usage,
    cpuPeriods: usage.cpuPeriods + carried.cpuPeriods,
    cpuThrottledPeriods: usage.cpuThrottledPeriods + carried.cpuThrottledPeriods,
    cpuThrottledMs: usage.cpuThrottledMs + carried.cpuThrottledMs,
    memoryFailcnt: usage.memoryFailcnt + carried.memoryFailcnt,
    oomKills: usage.oomKills + carried.oomKills,
  };
}
