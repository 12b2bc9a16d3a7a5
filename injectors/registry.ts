import type { FaultSpec } from '../runner/scenario/index.ts';
import { partitionInjector } from './partition/index.ts';
import { processInjector } from './process/index.ts';
import { leaderChurnInjector } from './leader-churn/index.ts';
import { toxicInjector } from './toxic/index.ts';
import type { Injector } from './types.ts';

/** Every fault type moat knows, listed explicitly. */
const injectors: { [T in FaultSpec['type']]: Injector<Extract<FaultSpec, { type: T }>> } = {
  partition: partitionInjector,
  process: processInjector,
  'leader-churn': leaderChurnInjector,
  toxic: toxicInjector,
};

export function injectorFor<S extends FaultSpec>(spec: S): Injector<S> {
  return injectors[spec.type] as unknown as Injector<S>;
}
