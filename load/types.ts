import type { LoadTotals } from '../core/journal.ts';
import type { LoadSpec } from '../runner/scenario/index.ts';
import type { LoadPoint } from './summarize.ts';

/** The load's totals with every latency kept, for gates that aggregate them. */
export interface LoadResult extends LoadTotals {
  byOp: Record<string, { requests: number; errors: number; latenciesMs: number[] }>;
}

/** One load of a run (etcd-kv, kafka): started with the observation, stopped before the read-back. */
export interface Load {
  readonly spec: LoadSpec;
  start(): void;
  stop(): Promise<void>;
  /** the read-back: what was acknowledged and what is there after heal */
  result(): Promise<LoadResult>;
  /** per-second series (`load_*{load,op}`) */
  series(): LoadPoint[];
  close(): void;
}
