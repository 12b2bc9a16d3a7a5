import * as z from 'zod';
import type { FaultTiming, ScenarioCheck, TargetSpec } from '../../core/scenario.ts';
import { faultTiming } from '../schema.ts';

/** Signals to a twin process: kill -9 (restarted on heal unless `restart: false`), or SIGSTOP/SIGCONT. */
export type ProcessSpec = FaultTiming & { type: 'process'; action: 'kill' | 'pause'; target: TargetSpec; restart: boolean };

declare module '../../core/scenario.ts' {
  interface FaultSpecs {
    process: ProcessSpec;
  }
}

export const processSchema = z.strictObject({
  ...faultTiming, type: z.literal('process'), action: z.enum(['kill', 'pause']), target: z.string(),
  /** kill only: start the process again when the fault heals */
  restart: z.boolean().default(true),
});

export function buildProcess(document: z.output<typeof processSchema>, base: FaultTiming, path: readonly (string | number)[], check: ScenarioCheck): ProcessSpec {
  if (document.action === 'pause' && document.restart === false) check.report([...path, 'restart'], 'restart applies to kill only');
  return { ...base, type: 'process', action: document.action, target: check.target(document.target, [...path, 'target']), restart: document.restart };
}
