import * as z from 'zod';
import type { ExecutorSpec } from '../core/scenario.ts';
import { executorKeys } from './executor.ts';

/** The keys every load has; `timeout` defaults per kind. How requests arrive: load/executor.ts. */
export function loadCommon(timeout: string) {
  return {
    name: z.string().regex(/^[a-z0-9][a-z0-9-]{0,39}$/, { error: 'expected lower-case letters, digits and dashes (at most 40)' }),
    /** the service it drives */
    target: z.string(),
    /** the arrival rate (constant-arrival-rate), or the mean rate (shape) */
    rate: z.string().optional(),
    /** per-request deadline */
    timeout: z.string().default(timeout),
    ...executorKeys,
  };
}

/** What every load's spec is built from: the checked name, target, rates and timeout. */
export interface LoadCommon {
  name: string;
  target: string;
  ratePerSec: number;
  timeoutMs: number;
  executor: ExecutorSpec;
}
