import type * as z from 'zod';
import type { SeededRandom } from '../core/random.ts';
import type { ResourceLedger } from '../core/resources.ts';
import type { FaultSpec, FaultTiming, ScenarioCheck, TargetSpec } from '../core/scenario.ts';
import type { Evidence } from '../core/journal.ts';
import type { ResolvedTarget, StartedTwin } from '../twin/index.ts';
import type { BpfEvidenceSource } from '../bpf/index.ts';

export type { Evidence, ResolvedTarget };

/**
 * A fault that is in effect. `heal()` may be called any number of times: the first call
 * undoes the fault, later calls return the same promise.
 */
export interface ActiveFault {
  /** The target as resolved when the fault fired, e.g. `etcd-2 (leader)`. */
  readonly target: string;
  /** Twin hosts the fault acts on. */
  readonly hosts: readonly string[];
  /**
   * When the fault's first action took effect (run clock, ms), for injectors whose inject() also
   * waits for a consequence (a leader move that waits for the new leader); else the moment
   * inject() returned counts.
   */
  readonly appliedAt?: number;
  heal(): Promise<void>;
}

/** Optional ability: prove that the fault took effect. */
export interface Verifiable {
  verify(): Promise<Evidence[]>;
}

export function isVerifiable(fault: ActiveFault): fault is ActiveFault & Verifiable {
  return typeof (fault as Partial<Verifiable>).verify === 'function';
}

/** What the run loop gives an injector: shared targeting, randomness, the ledger and the clock. */
export interface InjectionContext {
  runId: string;
  twin: StartedTwin;
  ledger: ResourceLedger;
  random: SeededRandom;
  /** ms since the run clock's zero */
  now(): number;
  /** Resolves a target to a twin host at this moment; `what` names the choice in the journal. */
  resolve(target: TargetSpec, what: string, exclude?: readonly string[]): Promise<ResolvedTarget>;
  /** Index of the fault in the scenario, for unique resource names. */
  faultIndex: number;
  /** what the kernel saw, when eBPF probes run */
  bpf?: BpfEvidenceSource;
  /** the observation interval, ms */
  intervalMs: number;
}

/**
 * One fault type: its part of the scenario schema, its checks, its line in the plan and its
 * behaviour. Listed in `registry.ts`; none registers itself on import. The run loop does the rest
 * (timing, targeting, journaling, healing on exit) the same way for every type.
 */
export interface FaultType<S extends FaultSpec = FaultSpec, D = unknown> {
  readonly type: S['type'];
  /** the document's shape (strict, `type` a literal; a nested union on a mode is fine): `faults[i]` */
  readonly schema: z.ZodType<D> & z.core.$ZodTypeDiscriminable;
  /** the document to a spec; `base` holds the id, `atMs` and `durationMs` already checked */
  build(document: D, base: FaultTiming, path: readonly (string | number)[], check: ScenarioCheck): S;
  /** One line for the plan that `moat run --dry-run` prints. */
  describe(spec: S): string;
  /** the service the fault acts on (for a toxic: the dependency behind the link) */
  service(spec: S): string;
  /**
   * Faults that take as long to act are grouped by this key, and the run loop learns how early to
   * start each group (a pause lands in microseconds, a kill's restart takes seconds).
   */
  actuationKey(spec: S): string;
  /** the fault changes its target's CPU or memory limits: the target service's members get cgroups */
  readonly usesCgroups?: boolean;
  inject(spec: S, context: InjectionContext): Promise<ActiveFault>;
}
