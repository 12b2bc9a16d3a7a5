export { cpuThrottleInjector, memorySqueezeInjector } from './resource.ts';
export type { CpuThrottleSpec, MemorySqueezeSpec } from './spec.ts';
