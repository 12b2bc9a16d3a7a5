import type { ResourceLimits } from '../../core/scenario.ts';
import type { ExecResult } from '../../core/exec.ts';

/**
 * What a twin backend gives the services and faults above it. The netns backend
 * (`backends/netns/`) makes hosts out of network namespaces on a bridge; another backend
 * (containers, Kubernetes) gives the same operations, so no service, injector or the run loop
 * needs to know which one runs.
 */
export interface TwinHost {
  /** host name in the twin, e.g. `etcd-2` */
  name: string;
  ip: string;
}

/** How a process stands, as the kernel (or the engine) sees it. */
export type ProcessState = 'running' | 'stopped' | 'gone';

export interface ManagedProcess {
  host: string;
  name: string;
  /** its pid as the host's kernel sees it (eBPF probes key on it) */
  pid: number;
  logFile: string;
  /** Resolves with the exit code (or 128+signal) when the process ends. */
  exited: Promise<number>;
  /** Whether moat asked it to stop (an exit after that is not a crash). */
  stopping: boolean;
  stop(graceMs?: number): Promise<void>;
  /** delivers a signal: KILL ends it, STOP pauses it, CONT resumes it (containers: through the engine) */
  signal(signal: 'SIGKILL' | 'SIGSTOP' | 'SIGCONT'): void | Promise<void>;
  state(): ProcessState;
}

/**
 * A partition as hosts: `isolate` cuts one host from every other, `one-way` stops `from` reaching
 * `to` (the reverse still works), `split` cuts every pair across groups.
 */
export type PartitionPlan =
  | { mode: 'isolate'; target: string }
  | { mode: 'one-way'; from: string; to: readonly string[] }
  | { mode: 'split'; groups: readonly (readonly string[])[] };

/** A partition in place. `heal` may be called any number of times. */
export interface Cut {
  /** the hosts whose rules drop traffic */
  readonly hosts: readonly string[];
  heal(): Promise<void>;
  /** packets each host's rules dropped so far: evidence that the cut is real */
  droppedPackets(): Promise<{ host: string; packets: number }[]>;
}

/**
 * A `spawn` command that names a container image to run with its own entrypoint (`image:<ref>`),
 * the user's own service; only the containers backend runs it.
 */
export const IMAGE_COMMAND = 'image:';

/** A service kind's container image: the programs it starts, and the files (absolute paths) it needs from the machine. */
export interface ImageRecipe {
  name: string;
  /** the commands `spawn` is called with that this image runs */
  programs: readonly string[];
  /** files or folders copied in at the same absolute path */
  files: readonly string[];
}

export interface TwinBackend extends AsyncDisposable {
  readonly runId: string;
  /** where moat's own side is, as the twin's hosts reach it (load, scraping, the OTLP receiver) */
  readonly gateway: string;
  /** the port on the gateway where the run's OTLP receiver listens (0: any free port) */
  readonly otlpPort: number;
  readonly hosts: ReadonlyMap<string, TwinHost>;
  readonly processes: readonly ManagedProcess[];
  host(name: string): TwinHost;
  /**
   * Starts a long-running process on a host; its output goes to `<logDir>/<name>.log`. With
   * `env`, that is its whole environment, never put on a command line.
   */
  spawn(host: string, name: string, command: string, args: readonly string[], env?: Readonly<Record<string, string>>): Promise<ManagedProcess>;
  /** runs a command on a host to completion */
  exec(host: string, command: string, args: readonly string[], options?: { allowFailure?: boolean; input?: string; timeoutMs?: number }): Promise<ExecResult>;
  /** whether a TCP connection from a host to ip:port opens within the timeout */
  canConnect(fromHost: string, ip: string, port: number, timeoutMs?: number): Promise<boolean>;
  /** puts a partition in place; `id` names its rules (unique per fault of the run) */
  cut(plan: PartitionPlan, id: string): Promise<Cut>;
  /** a host's CPU and memory limits and the kernel's counters (undefined: the host has none) */
  resources(host: string): HostResources | undefined;
  destroy(): Promise<void>;
}

export type { ResourceLimits } from '../../core/scenario.ts';

/** The kernel's view of a host's resources (cgroup counters; monotonic ones since the host started). */
export interface ResourceUsage {
  cpuPeriods: number;
  cpuThrottledPeriods: number;
  cpuThrottledMs: number;
  memoryBytes: number;
  memoryMaxBytes: number;
  /** times the memory limit refused a charge */
  memoryFailcnt: number;
  oomKills: number;
}

/** A host's limits, changeable while it runs, and the kernel's counters. */
export interface HostResources {
  readonly limits: ResourceLimits;
  set(limits: ResourceLimits): void;
  /** the limits in force, as the kernel reports them */
  readBack(): ResourceLimits;
  usage(): ResourceUsage;
}
