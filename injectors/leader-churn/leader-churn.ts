import { HealError, InjectionError, errorMessage } from '../../core/errors.ts';
import { formatMs, sleep } from '../../core/units.ts';
import type { LeaderChurnSpec } from '../../runner/scenario/index.ts';
import type { ActiveFault, Evidence, InjectionContext, Injector, Verifiable } from '../types.ts';

/**
 * Leader churn on etcd: every `every`, leadership moves from whoever leads to a seeded random
 * other member through etcd's MoveLeader (maintenance API), until the fault heals. Each move and
 * its outcome is kept as evidence.
 */
export const leaderChurnInjector: Injector<LeaderChurnSpec> = {
  type: 'leader-churn',

  describe(spec) {
    return `leader-churn ${spec.id}: move ${spec.service}'s leadership every ${formatMs(spec.everyMs)}, at ${formatMs(spec.atMs)} for ${formatMs(spec.durationMs)}`;
  },

  async inject(spec, context) {
    const service = context.twin.service(spec.service);
    const view = await service.leader();
    if (view.leader === null) throw new InjectionError(`leader-churn ${spec.id}: ${spec.service} has no leader to move`);
    const fault = new ActiveChurn(spec, context);
    await fault.move();
    fault.loop();
    return fault;
  },
};

interface Move {
  t: number;
  from: string;
  to: string;
  ok: boolean;
  detail: string;
}

class ActiveChurn implements ActiveFault, Verifiable {
  readonly target: string;
  readonly hosts: readonly string[];
  readonly moves: Move[] = [];
  readonly #spec: LeaderChurnSpec;
  readonly #context: InjectionContext;
  readonly #stop = new AbortController();
  #running: Promise<void> = Promise.resolve();
  #healing: Promise<void> | undefined;

  constructor(spec: LeaderChurnSpec, context: InjectionContext) {
    this.#spec = spec;
    this.#context = context;
    this.target = `${spec.service} leadership`;
    this.hosts = context.twin.service(spec.service).members.map((m) => m.name);
  }

  loop(): void {
    this.#running = (async () => {
      while (!this.#stop.signal.aborted) {
        await sleep(this.#spec.everyMs, this.#stop.signal);
        if (this.#stop.signal.aborted) return;
        await this.move().catch(() => undefined);
      }
    })();
  }

  /** One step: ask the current leader to hand over to a seeded random other member. */
  async move(): Promise<void> {
    const service = this.#context.twin.service(this.#spec.service);
    const view = await service.leader();
    const t = this.#context.now();
    if (view.leader === null) {
      this.moves.push({ t, from: 'none', to: 'none', ok: false, detail: 'no leader to move' });
      return;
    }
    const candidates = service.members.map((m) => m.name).filter((m) => m !== view.leader).sort();
    const to = this.#context.random.pick(`${this.#spec.id}.move[${this.moves.length}]`, candidates);
    const targetId = service.member(to).memberId;
    try {
      if (!targetId) throw new Error(`member id of ${to} unknown`);
      const response = await fetch(`${service.member(view.leader).clientUrl}/v3/maintenance/transfer-leadership`, {
        method: 'POST', body: JSON.stringify({ targetID: targetId }), signal: AbortSignal.timeout(5000),
      });
      const body = await response.text();
      if (!response.ok) throw new Error(`HTTP ${response.status} ${body.trim()}`);
      this.moves.push({ t, from: view.leader, to, ok: true, detail: `moved leadership ${view.leader} -> ${to}` });
    } catch (error) {
      this.moves.push({ t, from: view.leader, to, ok: false, detail: `move ${view.leader} -> ${to} failed: ${errorMessage(error)}` });
    }
  }

  heal(): Promise<void> {
    this.#healing ??= (async () => {
      this.#stop.abort();
      try {
        await this.#running;
      } catch (error) {
        throw new HealError(`leader-churn ${this.#spec.id}: ${errorMessage(error)}`, { cause: error });
      }
    })();
    return this.#healing;
  }

  /** The moves so far, and whether the cluster is led by a member moat moved leadership to. */
  async verify(): Promise<Evidence[]> {
    const evidence: Evidence[] = this.moves.map((m) => ({ t: m.t, kind: 'leader' as const, ok: m.ok, detail: m.detail }));
    const movedTo = new Set(this.moves.filter((m) => m.ok).map((m) => m.to));
    // a move may be under way right now: any member moat handed leadership to counts
    const view = await this.#context.twin.service(this.#spec.service).leader();
    const ok = view.leader !== null && movedTo.has(view.leader);
    evidence.push({ t: this.#context.now(), kind: 'leader', ok, detail: `${this.#spec.service} is led by ${view.leader ?? 'nobody'} (moved to so far: ${[...movedTo].join(', ') || 'none'})` });
    return evidence;
  }
}
