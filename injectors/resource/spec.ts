import * as z from 'zod';
import type { FaultTiming, ScenarioCheck, TargetSpec } from '../../core/scenario.ts';
import { parseCpuMillis, parseMemoryBytes } from '../../core/units.ts';
import { faultTiming } from '../schema.ts';

/** The CPU quota of a member cut to `cpuMillis` for the fault's duration (cgroup cpu.cfs_quota_us). */
export type CpuThrottleSpec = FaultTiming & { type: 'cpu-throttle'; target: TargetSpec; cpuMillis: number };
/** The memory limit of a member lowered to `memoryBytes` for the fault's duration (cgroup memory.limit_in_bytes). */
export type MemorySqueezeSpec = FaultTiming & { type: 'memory-squeeze'; target: TargetSpec; memoryBytes: number };

declare module '../../core/scenario.ts' {
  interface FaultSpecs {
    'cpu-throttle': CpuThrottleSpec;
    'memory-squeeze': MemorySqueezeSpec;
  }
}

export const cpuThrottleSchema = z.strictObject({
  ...faultTiming, type: z.literal('cpu-throttle'), target: z.string(),
  /** the quota while the fault lasts, Kubernetes' units: "100m" is a tenth of a core */
  cpu: z.string(),
});

export const memorySqueezeSchema = z.strictObject({
  ...faultTiming, type: z.literal('memory-squeeze'), target: z.string(),
  /** the memory limit while the fault lasts: "64Mi", "1Gi" */
  memory: z.string(),
});

export function buildCpuThrottle(document: z.output<typeof cpuThrottleSchema>, base: FaultTiming, path: readonly (string | number)[], check: ScenarioCheck): CpuThrottleSpec {
  const cpuMillis = parseCpuMillis(document.cpu);
  if (cpuMillis === undefined) check.report([...path, 'cpu'], `expected a CPU quantity such as "100m" or "0.5" (1m to 256 cores), saw ${JSON.stringify(document.cpu.slice(0, 40))}`);
  const target = check.target(document.target, [...path, 'target']);
  const limit = check.services.get(target.service)?.resources?.cpuMillis;
  if (cpuMillis !== undefined && limit !== undefined && cpuMillis >= limit) check.report([...path, 'cpu'], `a throttle lowers the quota: ${target.service}'s limit is ${limit}m, and ${cpuMillis}m is not below it`);
  return { ...base, type: 'cpu-throttle', target, cpuMillis: cpuMillis ?? Number.NaN };
}

export function buildMemorySqueeze(document: z.output<typeof memorySqueezeSchema>, base: FaultTiming, path: readonly (string | number)[], check: ScenarioCheck): MemorySqueezeSpec {
  const memoryBytes = parseMemoryBytes(document.memory);
  if (memoryBytes === undefined) check.report([...path, 'memory'], `expected a memory quantity such as "64Mi" or "1Gi" (4Mi to 1Ti), saw ${JSON.stringify(document.memory.slice(0, 40))}`);
  const target = check.target(document.target, [...path, 'target']);
  const limit = check.services.get(target.service)?.resources?.memoryBytes;
  if (memoryBytes !== undefined && limit !== undefined && memoryBytes >= limit) check.report([...path, 'memory'], `a squeeze lowers the limit: ${target.service}'s limit is ${limit} bytes, and ${memoryBytes} is not below it`);
  return { ...base, type: 'memory-squeeze', target, memoryBytes: memoryBytes ?? Number.NaN };
}
