import type * as z from 'zod';
import type { LoadTotals } from '../core/journal.ts';
import type { SeededRandom } from '../core/random.ts';
import type { ResourceLedger } from '../core/resources.ts';
import type { LoadSpec, ScenarioCheck, ServiceKindName } from '../core/scenario.ts';
import type { StartedTwin } from '../twin/index.ts';
import type { LoadPoint } from './summarize.ts';
import type { LatencyHistogram, LoadStats } from './stats.ts';
import type { LoadCommon } from './schema.ts';
import { rateAt, rateProfile } from './executor.ts';

/** The load's totals with every latency kept, for gates that aggregate them. */
export interface LoadResult extends LoadTotals {
  byOp: Record<string, { requests: number; errors: number; latency: LatencyHistogram }>;
}

/** One load of a run: started with the observation, stopped before the read-back. */
export interface Load {
  readonly spec: LoadSpec;
  /** resolves once the load can send on time (worker threads loaded); start() follows */
  ready?(): Promise<void>;
  start(): void;
  stop(): Promise<void>;
  /** the read-back: what was acknowledged and what is there after heal */
  result(): Promise<LoadResult>;
  /** per-second series (`load_*{load,op}`) */
  series(): LoadPoint[];
  close(): void;
}

/** What the run loop gives a load when it creates it. */
export interface LoadContext {
  twin: StartedTwin;
  runId: string;
  /** the run folder: acknowledged-write logs go here */
  runDir: string;
  ledger: ResourceLedger;
  /** this load's own seeded randomness (the run's seed and the load's name) */
  random: SeededRandom;
  /** ms since the run clock's zero */
  now(): number;
  /** wall-clock ms of the run clock's zero */
  clockZeroEpochMs: number;
}

/**
 * One kind of load: its part of the scenario schema, its checks, its line in the plan and how
 * to create it. Listed in `registry.ts`.
 */
export interface LoadKind<S extends LoadSpec = LoadSpec, D = unknown> {
  readonly kind: S['kind'];
  /** the document's shape (strict, `kind` a literal): `load[i]` */
  readonly schema: z.ZodType<D> & z.core.$ZodTypeDiscriminable;
  /** the service kind it drives (`target:` must name one) */
  readonly drives: ServiceKindName;
  /** the document to a spec; `common` holds the checked name, target, rate and timeout */
  build(document: D, common: LoadCommon, path: readonly (string | number)[], check: ScenarioCheck): S;
  describe(spec: S): string;
  create(spec: S, context: LoadContext): Load;
}

/**
 * A load's totals from its per-second stats; kinds add what they know besides (acknowledged
 * writes, messages). A ramping load also says where the service broke (`startMs`: when the
 * load started on the run clock; the limit on p99 is half the request timeout).
 */
export function resultOf(spec: LoadSpec, stats: LoadStats, workers: number, startMs = 0): LoadResult {
  const { requests, errors, byOp, lag } = stats.totals();
  const result: LoadResult = {
    name: spec.name, requests, errors, availability: requests === 0 ? 1 : 1 - errors / requests, byOp,
    ackedWrites: 0, lostWrites: 0, lostKeys: [], indeterminateApplied: 0,
    scheduleLagP99Ms: requests === 0 ? 0 : lag.percentile(99),
    generator: stats.generator(workers),
  };
  if (spec.executor.kind === 'ramping-arrival-rate') {
    const profile = rateProfile(spec.executor, spec.ratePerSec);
    result.breakpoint = stats.breakpoint(spec.timeoutMs / 2, (tMs) => rateAt(profile, tMs - startMs));
  }
  return result;
}
