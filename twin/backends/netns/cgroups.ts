import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TwinError } from '../../../core/errors.ts';
import type { Resource, ResourceHandler, ResourceLedger } from '../../../core/resources.ts';
import type { HostResources, ResourceLimits, ResourceUsage } from '../types.ts';

/** cgroup v1 hierarchies (the machines here mount cpu and memory controllers writable). */
export const CGROUP_ROOT = process.env.MOAT_CGROUP_ROOT ?? '/sys/fs/cgroup';
const CFS_PERIOD_US = 100_000;
/** memory.limit_in_bytes with no limit (cgroup v1 reports PAGE_COUNTER_MAX as this) */
const UNLIMITED = -1;

type CgroupResource = Extract<Resource, { kind: 'cgroup' }>;

/**
 * One twin host's cgroups (`moat-<run id>-<host>` under the cpu and memory hierarchies), recorded
 * in the resource ledger before each exists. Processes spawned on the host join both before they
 * exec (see `wrap`), so limits hold from their first instruction. Limits can be changed while the
 * host runs (the resource faults do) and the kernel's counters read back as evidence.
 */
export class HostCgroups implements HostResources {
  readonly name: string;
  /** undefined: the cgroups are someone else's (a container's, made by the engine) and are not removed here */
  readonly #ledger: ResourceLedger | undefined;
  readonly #dirs: Readonly<Record<'cpu' | 'memory', string>>;
  #limits: ResourceLimits;

  private constructor(name: string, ledger: ResourceLedger | undefined, limits: ResourceLimits, dirs: Readonly<Record<'cpu' | 'memory', string>>) {
    this.name = name;
    this.#ledger = ledger;
    this.#limits = limits;
    this.#dirs = dirs;
  }

  /**
   * The cgroups a process is in (a container's, which its engine made and removes): limits are
   * changed and counters read in the same files, nothing is created or removed.
   */
  static of(pid: number, name: string, limits: ResourceLimits): HostCgroups {
    const lines = readFileSync(`/proc/${pid}/cgroup`, 'utf8').split('\n');
    const pathOf = (controller: string) => {
      const line = lines.find((l) => l.split(':')[1]?.split(',').includes(controller));
      if (!line) throw new TwinError(`process ${pid} is in no cgroup v1 ${controller} hierarchy`);
      return join(CGROUP_ROOT, controller, line.split(':').slice(2).join(':'));
    };
    return new HostCgroups(name, undefined, limits, { cpu: pathOf('cpu'), memory: pathOf('memory') });
  }

  static create(runId: string, host: string, ledger: ResourceLedger, limits: ResourceLimits): HostCgroups {
    const name = `moat-${runId}-${host}`;
    for (const controller of ['cpu', 'memory'] as const) {
      const dir = join(CGROUP_ROOT, controller);
      if (!existsSync(join(dir, 'cgroup.procs'))) throw new TwinError(`no cgroup v1 ${controller} hierarchy at ${dir}: resource limits and faults need one`);
      ledger.add({ kind: 'cgroup', controller, name });
      mkdirSync(join(dir, name));
    }
    const cgroups = new HostCgroups(name, ledger, {}, { cpu: join(CGROUP_ROOT, 'cpu', name), memory: join(CGROUP_ROOT, 'memory', name) });
    cgroups.set(limits);
    return cgroups;
  }

  #file(controller: 'cpu' | 'memory', file: string): string {
    return join(this.#dirs[controller], file);
  }

  get limits(): ResourceLimits {
    return { ...this.#limits };
  }

  /** Sets the CPU quota (millicores, as Kubernetes writes them) and the memory limit (bytes); undefined lifts one. */
  set(limits: ResourceLimits): void {
    const quota = limits.cpuMillis === undefined ? -1 : Math.max(1000, Math.round((limits.cpuMillis / 1000) * CFS_PERIOD_US));
    writeFileSync(this.#file('cpu', 'cpu.cfs_period_us'), String(CFS_PERIOD_US));
    writeFileSync(this.#file('cpu', 'cpu.cfs_quota_us'), String(quota));
    try {
      writeFileSync(this.#file('memory', 'memory.limit_in_bytes'), String(limits.memoryBytes ?? UNLIMITED));
    } catch (error) {
      // cgroup v1 refuses (EBUSY) a limit below what it cannot reclaim: say so in moat's words
      if ((error as NodeJS.ErrnoException).code === 'EBUSY') throw new TwinError(`${this.name}: the kernel could not reclaim enough memory to lower the limit to ${limits.memoryBytes} bytes (in use: ${this.usage().memoryBytes})`);
      throw error;
    }
    this.#limits = { ...limits };
  }

  /** The limits in force, read back from the kernel. */
  readBack(): ResourceLimits {
    const quota = Number(readFileSync(this.#file('cpu', 'cpu.cfs_quota_us'), 'utf8'));
    const period = Number(readFileSync(this.#file('cpu', 'cpu.cfs_period_us'), 'utf8'));
    const memory = Number(readFileSync(this.#file('memory', 'memory.limit_in_bytes'), 'utf8'));
    return {
      ...(quota > 0 ? { cpuMillis: Math.round((quota / period) * 1000) } : {}),
      // the kernel rounds to pages and reports "no limit" as a huge number
      ...(memory < 2 ** 62 ? { memoryBytes: memory } : {}),
    };
  }

  /** The kernel's counters: CPU periods and throttled periods, memory in use, failed charges, OOM kills. */
  usage(): ResourceUsage {
    const cpu = keyValues(readFileSync(this.#file('cpu', 'cpu.stat'), 'utf8'));
    const oom = keyValues(readFileSync(this.#file('memory', 'memory.oom_control'), 'utf8'));
    return {
      cpuPeriods: cpu.nr_periods ?? 0,
      cpuThrottledPeriods: cpu.nr_throttled ?? 0,
      cpuThrottledMs: (cpu.throttled_time ?? 0) / 1e6,
      memoryBytes: Number(readFileSync(this.#file('memory', 'memory.usage_in_bytes'), 'utf8')),
      memoryMaxBytes: Number(readFileSync(this.#file('memory', 'memory.max_usage_in_bytes'), 'utf8')),
      memoryFailcnt: Number(readFileSync(this.#file('memory', 'memory.failcnt'), 'utf8')),
      oomKills: oom.oom_kill ?? 0,
    };
  }

  /** A command line that joins both cgroups, then execs `command` (the pid stays the same). */
  wrap(command: string, args: readonly string[]): { command: string; args: string[] } {
    const join = `echo $$ > '${this.#file('cpu', 'cgroup.procs')}' && echo $$ > '${this.#file('memory', 'cgroup.procs')}' && exec "$@"`;
    return { command: 'sh', args: ['-c', join, 'sh', command, ...args] };
  }

  /** Removes both cgroups (their processes must be gone: the kernel refuses otherwise). */
  remove(): void {
    if (!this.#ledger) return;
    for (const controller of ['cpu', 'memory'] as const) {
      const resource: CgroupResource = { kind: 'cgroup', controller, name: this.name };
      removeCgroup(resource);
      this.#ledger!.remove(`cgroup:${controller}:${this.name}`);
    }
  }
}

function keyValues(text: string): Record<string, number> {
  return Object.fromEntries(text.trim().split('\n').map((line) => line.split(/\s+/)).filter((p) => p.length === 2).map(([k, v]) => [k!, Number(v)]));
}

function removeCgroup(resource: CgroupResource): string {
  const dir = join(CGROUP_ROOT, resource.controller, resource.name);
  if (!existsSync(dir)) return 'already gone';
  // a process still in it (killed a moment ago, not yet reaped) keeps it busy: wait a little
  for (let attempt = 0; ; attempt++) {
    try {
      rmdirSync(dir);
      return 'removed';
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 'already gone';
      if ((error as NodeJS.ErrnoException).code !== 'EBUSY' || attempt >= 50) throw error;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
    }
  }
}

/** cgroups a run made: `moat-<run id>-<host>` directly under the cpu or memory hierarchy. */
export const cgroupHandler: ResourceHandler<CgroupResource> = {
  kind: 'cgroup',
  check(resource, runId) {
    if (resource.controller !== 'cpu' && resource.controller !== 'memory') return `controller ${JSON.stringify(resource.controller)} is not one moat uses`;
    if (typeof resource.name !== 'string' || !new RegExp(`^moat-${runId}-[a-z0-9-]+$`).test(resource.name)) return `cgroup ${JSON.stringify(resource.name)} is not one of run ${runId}`;
    return undefined;
  },
  describe: (resource) => `remove the cgroup ${join(CGROUP_ROOT, resource.controller, resource.name)} (after its processes are gone)`,
  async undo(resource) {
    return removeCgroup(resource);
  },
};
