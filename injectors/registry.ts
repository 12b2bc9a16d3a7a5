import type { FaultSpec, FaultSpecs, FaultTypeName } from '../core/scenario.ts';
import { partitionInjector } from './partition/index.ts';
import { processInjector } from './process/index.ts';
import { leaderChurnInjector } from './leader-churn/index.ts';
import { toxicInjector } from './toxic/index.ts';
import { configInjector } from './config/index.ts';
import { cpuThrottleInjector, memorySqueezeInjector } from './resource/index.ts';
import type { FaultType } from './types.ts';

/**
 * Every fault type moat knows, listed explicitly (no import registers itself). The scenario
 * schema and the run loop take everything they need from here. A new type is a folder (spec.ts,
 * the injector, index.ts) plus one line; `satisfies` checks each sits under its own name.
 */
const types = {
  partition: partitionInjector,
  process: processInjector,
  'leader-churn': leaderChurnInjector,
  toxic: toxicInjector,
  config: configInjector,
  'cpu-throttle': cpuThrottleInjector,
  'memory-squeeze': memorySqueezeInjector,
} satisfies { [T in FaultTypeName]: FaultType<FaultSpecs[T], unknown> };

export const FAULT_TYPES: Readonly<Record<FaultTypeName, FaultType>> = types;

export function faultTypeOf(spec: FaultSpec): FaultType {
  return FAULT_TYPES[spec.type];
}
