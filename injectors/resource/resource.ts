import { InjectionError, HealError, errorMessage } from '../../core/errors.ts';
import type { Evidence } from '../../core/journal.ts';
import type { ResourceLimits } from '../../core/scenario.ts';
import { formatBytes, formatMs, sleep } from '../../core/units.ts';
import type { HostResources } from '../../twin/index.ts';
import type { ActiveFault, FaultType, InjectionContext, Verifiable } from '../types.ts';
import { buildCpuThrottle, buildMemorySqueeze, cpuThrottleSchema, memorySqueezeSchema, type CpuThrottleSpec, type MemorySqueezeSpec } from './spec.ts';

type ResourceSpec = CpuThrottleSpec | MemorySqueezeSpec;

/**
 * Resource faults on a twin member's cgroups (its service's members get them when a scenario
 * names one of these faults): `cpu-throttle` cuts the CPU quota, `memory-squeeze` lowers the
 * memory limit, each for the fault's duration; heal puts the limits back as they were. Proof
 * comes from the kernel: the limit read back from the cgroup, and its counters (throttled
 * periods, memory in use against the limit, failed charges, OOM kills).
 */
function resourceInjector<S extends ResourceSpec>(type: S['type'], schema: typeof cpuThrottleSchema | typeof memorySqueezeSchema, build: (document: never, base: never, path: never, check: never) => S): FaultType<S, unknown> {
  return {
    type,
    schema: schema as never,
    build: build as never,
    service: (spec) => spec.target.service,
    actuationKey: () => type,
    usesCgroups: true,
    describe: (spec) => `${type} ${spec.id}: ${spec.type === 'cpu-throttle' ? `CPU quota of ${spec.target.source} cut to ${spec.cpuMillis}m` : `memory limit of ${spec.target.source} lowered to ${formatBytes(spec.memoryBytes)}`}, at ${formatMs(spec.atMs)} for ${formatMs(spec.durationMs)}`,
    async inject(spec, context) {
      const target = await context.resolve(spec.target, `${spec.id}.target`);
      const resources = context.twin.backend.resources(target.host);
      if (!resources) throw new InjectionError(`${type} ${spec.id}: ${target.host} has no cgroups (the twin gives them to the members of services a resource fault names)`);
      const before = resources.limits;
      const next: ResourceLimits = spec.type === 'cpu-throttle' ? { ...before, cpuMillis: spec.cpuMillis } : { ...before, memoryBytes: spec.memoryBytes };
      const usageBefore = resources.usage();
      try {
        resources.set(next);
      } catch (error) {
        throw new InjectionError(`${type} ${spec.id}: ${target.host}: ${errorMessage(error)}`, { cause: error });
      }
      return new ActiveResourceFault(spec, context, target.label, target.host, resources, before, usageBefore);
    },
  };
}

export const cpuThrottleInjector = resourceInjector<CpuThrottleSpec>('cpu-throttle', cpuThrottleSchema, buildCpuThrottle as never);
export const memorySqueezeInjector = resourceInjector<MemorySqueezeSpec>('memory-squeeze', memorySqueezeSchema, buildMemorySqueeze as never);

class ActiveResourceFault implements ActiveFault, Verifiable {
  readonly target: string;
  readonly hosts: readonly string[];
  readonly #spec: ResourceSpec;
  readonly #context: InjectionContext;
  readonly #resources: HostResources;
  readonly #before: ResourceLimits;
  readonly #usageBefore: ReturnType<HostResources['usage']>;
  #healing: Promise<void> | undefined;

  constructor(spec: ResourceSpec, context: InjectionContext, label: string, host: string, resources: HostResources, before: ResourceLimits, usageBefore: ReturnType<HostResources['usage']>) {
    this.#spec = spec;
    this.#context = context;
    this.target = label;
    this.hosts = [host];
    this.#resources = resources;
    this.#before = before;
    this.#usageBefore = usageBefore;
  }

  heal(): Promise<void> {
    this.#healing ??= (async () => {
      try {
        this.#resources.set(this.#before);
      } catch (error) {
        throw new HealError(`${this.#spec.type} ${this.#spec.id}: ${this.hosts[0]}'s limits could not be put back: ${errorMessage(error)}`, { cause: error });
      }
    })();
    return this.#healing;
  }

  /**
   * The limit as the kernel holds it; then, over one observation interval, whether the member
   * felt it: throttled CPU periods, or its memory against the new limit (with failed charges
   * and OOM kills as they happen).
   */
  async verify(): Promise<Evidence[]> {
    const host = this.hosts[0]!;
    const t = this.#context.now();
    const held = this.#resources.readBack();
    const evidence: Evidence[] = [];
    if (this.#spec.type === 'cpu-throttle') {
      const ok = held.cpuMillis === this.#spec.cpuMillis;
      evidence.push({ t, kind: 'probe', ok, detail: `${host}'s CPU quota reads ${held.cpuMillis === undefined ? 'unlimited' : `${held.cpuMillis}m`} (asked ${this.#spec.cpuMillis}m)` });
      const from = this.#resources.usage();
      await sleep(Math.min(2000, Math.max(500, this.#context.intervalMs)));
      const to = this.#resources.usage();
      const throttled = to.cpuThrottledPeriods - from.cpuThrottledPeriods;
      const periods = to.cpuPeriods - from.cpuPeriods;
      evidence.push({ t: this.#context.now(), kind: 'counter', ok: throttled > 0, detail: throttled > 0 ? `${host} was throttled in ${throttled} of ${periods} CPU periods (${Math.round(to.cpuThrottledMs - from.cpuThrottledMs)} ms held back)` : `${host} was not throttled in ${periods} periods: it used less CPU than the new quota` });
      return evidence;
    }
    const ok = held.memoryBytes !== undefined && Math.abs(held.memoryBytes - this.#spec.memoryBytes) < 4096;
    evidence.push({ t, kind: 'probe', ok, detail: `${host}'s memory limit reads ${held.memoryBytes === undefined ? 'unlimited' : formatBytes(held.memoryBytes)} (asked ${formatBytes(this.#spec.memoryBytes)})` });
    await sleep(Math.min(2000, Math.max(500, this.#context.intervalMs)));
    const usage = this.#resources.usage();
    const failed = usage.memoryFailcnt - this.#usageBefore.memoryFailcnt;
    const killed = usage.oomKills - this.#usageBefore.oomKills;
    evidence.push({ t: this.#context.now(), kind: 'counter', ok: usage.memoryBytes <= this.#spec.memoryBytes, detail: `${host} holds ${formatBytes(usage.memoryBytes)} of ${formatBytes(this.#spec.memoryBytes)}; ${failed} charge${failed === 1 ? '' : 's'} refused at the limit, ${killed} OOM kill${killed === 1 ? '' : 's'} since the squeeze` });
    return evidence;
  }
}
