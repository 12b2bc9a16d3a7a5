import type { SeededRandom } from '../core/random.ts';
import type { ResourceLedger } from '../core/resources.ts';
import type { FaultSpec, TargetSpec } from '../runner/scenario/index.ts';
import type { StartedTwin } from '../twin/index.ts';
import type { Evidence } from '../core/journal.ts';
import type { BpfEvidenceSource } from '../bpf/index.ts';

export type { Evidence };

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

export interface ResolvedTarget {
  host: string;
  /** e.g. `etcd-2 (leader)` */
  label: string;
}

/** One fault type. Injectors are listed in `registry.ts`; none registers itself on import. */
export interface Injector<S extends FaultSpec = FaultSpec> {
  readonly type: S['type'];
  /** One line for the plan that `moat run --dry-run` prints. */
  describe(spec: S): string;
  inject(spec: S, context: InjectionContext): Promise<ActiveFault>;
}
