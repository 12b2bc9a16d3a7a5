import { HealError, InjectionError, errorMessage } from '../../core/errors.ts';
import { formatMs, sleep, waitFor } from '../../core/units.ts';
import { EtcdCluster, KafkaCluster } from '../../twin/index.ts';
import type { ActiveFault, Evidence, FaultType, InjectionContext, Verifiable } from '../types.ts';
import { buildLeaderChurn, leaderChurnSchema, type LeaderChurnSpec } from './spec.ts';

/**
 * Leader churn, one vocabulary for every leader-based service: every `every`, leadership moves,
 * until the fault heals. Each move, its outcome and how long the new leader took is evidence.
 * - etcd: MoveLeader (maintenance API) from whoever leads to a seeded random other member;
 * - Kafka partitions (`target: kafka`, optionally `topic` and `partition`): a seeded partition's
 *   replicas are reordered so that a seeded other in-sync replica comes first, then a preferred
 *   leader election makes it the leader (Kafka's Admin API);
 * - Kafka's controller (`target: kafka.controller`): the active KRaft controller is killed (-9),
 *   a new one is awaited, and the old one is restarted from its data.
 */
export const leaderChurnInjector: FaultType<LeaderChurnSpec, import('zod').output<typeof leaderChurnSchema>> = {
  type: 'leader-churn',
  schema: leaderChurnSchema,
  build: buildLeaderChurn,
  service: (spec) => spec.service,
  actuationKey: (spec) => `leader-churn:${spec.service}`,

  describe(spec) {
    const what = spec.controller ? `${spec.service}'s active controller (kill -9, restart)`
      : spec.topic === undefined ? `${spec.service}'s leadership`
      : spec.partition === undefined ? `the leaders of ${spec.service} topic ${spec.topic}` : `the leader of ${spec.service} ${spec.topic}/${spec.partition}`;
    return `leader-churn ${spec.id}: move ${what} every ${formatMs(spec.everyMs)}, at ${formatMs(spec.atMs)} for ${formatMs(spec.durationMs)}`;
  },

  async inject(spec, context) {
    const service = context.twin.service(spec.service);
    const mover: Mover = service instanceof KafkaCluster
      ? spec.controller ? new KafkaControllerMover(service, spec, context) : new KafkaPartitionMover(service, spec, context)
      : new EtcdMover(context.twin.of(spec.service, EtcdCluster), spec, context);
    await mover.precheck();
    const fault = new ActiveChurn(spec, context, mover);
    await fault.step();
    fault.loop();
    return fault;
  },
};

/** One move of leadership, as evidence. */
export interface Move {
  t: number;
  /** what moved, e.g. `etcd`, `orders/2`, `controller` */
  what: string;
  from: string;
  to: string;
  ok: boolean;
  /** from the request until the new leader was seen, ms */
  tookMs?: number;
  detail: string;
}

interface Mover {
  readonly label: string;
  readonly hosts: readonly string[];
  precheck(): Promise<void>;
  /** one move; `acted` is called the moment the move's action is issued */
  move(index: number, acted: () => void): Promise<Move>;
  /** runs once when the fault heals (e.g. restart a killed controller) */
  settle?(): Promise<void>;
  /** evidence about the state now */
  now(moves: readonly Move[]): Promise<Evidence>;
}

class ActiveChurn implements ActiveFault, Verifiable {
  readonly target: string;
  readonly hosts: readonly string[];
  readonly moves: Move[] = [];
  appliedAt: number | undefined;
  readonly #spec: LeaderChurnSpec;
  readonly #context: InjectionContext;
  readonly #mover: Mover;
  readonly #stop = new AbortController();
  #running: Promise<void> = Promise.resolve();
  #healing: Promise<void> | undefined;

  constructor(spec: LeaderChurnSpec, context: InjectionContext, mover: Mover) {
    this.#spec = spec;
    this.#context = context;
    this.#mover = mover;
    this.target = mover.label;
    this.hosts = mover.hosts;
  }

  loop(): void {
    this.#running = (async () => {
      while (!this.#stop.signal.aborted) {
        await sleep(this.#spec.everyMs, this.#stop.signal);
        if (this.#stop.signal.aborted) return;
        await this.step().catch(() => undefined);
      }
    })();
  }

  async step(): Promise<void> {
    const t = this.#context.now();
    try {
      this.moves.push(await this.#mover.move(this.moves.length, () => {
        this.appliedAt ??= this.#context.now();
      }));
    } catch (error) {
      this.moves.push({ t, what: this.#spec.service, from: '?', to: '?', ok: false, detail: `move failed: ${errorMessage(error)}` });
    }
  }

  heal(): Promise<void> {
    this.#healing ??= (async () => {
      this.#stop.abort();
      try {
        await this.#running;
        await this.#mover.settle?.();
      } catch (error) {
        throw new HealError(`leader-churn ${this.#spec.id}: ${errorMessage(error)}`, { cause: error });
      }
    })();
    return this.#healing;
  }

  /** The moves so far, and the service's leadership now. */
  async verify(): Promise<Evidence[]> {
    const evidence: Evidence[] = this.moves.map((m) => ({ t: m.t, kind: 'leader' as const, ok: m.ok, detail: m.detail }));
    evidence.push(await this.#mover.now(this.moves));
    return evidence;
  }
}

/** What every mover holds: the service whose leadership moves, the fault, and the run's context. */
abstract class ServiceMover<S extends EtcdCluster | KafkaCluster> {
  abstract readonly label: string;
  readonly hosts: readonly string[];

  protected readonly service: S;
  protected readonly spec: LeaderChurnSpec;
  protected readonly context: InjectionContext;

  constructor(service: S, spec: LeaderChurnSpec, context: InjectionContext) {
    this.service = service;
    this.spec = spec;
    this.context = context;
    this.hosts = service.members.map((m) => m.name);
  }
}

class EtcdMover extends ServiceMover<EtcdCluster> implements Mover {
  readonly label = `${this.spec.service} leadership`;
  /** every member a transfer was asked for, from the moment it is asked (a transfer's reply may come after leadership moved) */
  readonly #askedFor = new Set<string>();

  async precheck(): Promise<void> {
    if ((await this.service.leader()).leader === null) throw new InjectionError(`leader-churn ${this.spec.id}: ${this.spec.service} has no leader to move`);
  }

  /** Asks the current leader to hand over to a seeded random other member. */
  async move(index: number, acted: () => void): Promise<Move> {
    const view = await this.service.leader();
    const t = this.context.now();
    const what = this.spec.service;
    if (view.leader === null) return { t, what, from: 'none', to: 'none', ok: false, detail: 'no leader to move' };
    const candidates = this.service.members.map((m) => m.name).filter((m) => m !== view.leader).sort();
    const to = this.context.random.pick(`${this.spec.id}.move[${index}]`, candidates);
    const targetId = this.service.member(to).memberId;
    const started = performance.now();
    try {
      if (!targetId) throw new InjectionError(`member id of ${to} unknown`);
      this.#askedFor.add(to);
      acted();
      const response = await fetch(`${this.service.member(view.leader).clientUrl}/v3/maintenance/transfer-leadership`, {
        method: 'POST', body: JSON.stringify({ targetID: targetId }), signal: AbortSignal.timeout(5000),
      });
      const body = await response.text();
      if (!response.ok) throw new InjectionError(`HTTP ${response.status} ${body.trim()}`);
      return { t, what, from: view.leader, to, ok: true, tookMs: Math.round(performance.now() - started), detail: `moved leadership ${view.leader} -> ${to}` };
    } catch (error) {
      return { t, what, from: view.leader, to, ok: false, detail: `move ${view.leader} -> ${to} failed: ${errorMessage(error)}` };
    }
  }

  async now(moves: readonly Move[]): Promise<Evidence> {
    const view = await this.service.leader();
    // read after the view: a move under way (asked for, its reply not yet back) counts too
    const movedTo = new Set([...moves.filter((m) => m.ok).map((m) => m.to), ...this.#askedFor]);
    const ok = view.leader !== null && moves.some((m) => m.ok) && movedTo.has(view.leader);
    return { t: this.context.now(), kind: 'leader', ok, detail: `${this.spec.service} is led by ${view.leader ?? 'nobody'} (moat handed leadership to: ${[...movedTo].sort().join(', ') || 'none'})` };
  }
}

class KafkaPartitionMover extends ServiceMover<KafkaCluster> implements Mover {
  readonly label = this.spec.topic === undefined ? `${this.spec.service} partition leaders`
    : this.spec.partition === undefined ? `${this.spec.service} ${this.spec.topic} leaders` : `${this.spec.service} ${this.spec.topic}/${this.spec.partition} leader`;

  #candidates(): { topic: string; partition: number }[] {
    const topics = this.service.spec.topics.filter((t) => (this.spec.topic === undefined || t.name === this.spec.topic) && t.replicationFactor > 1);
    return topics.flatMap((t) => Array.from({ length: t.partitions }, (_, partition) => ({ topic: t.name, partition })))
      .filter((p) => this.spec.partition === undefined || p.partition === this.spec.partition);
  }

  async precheck(): Promise<void> {
    if (this.#candidates().length === 0) throw new InjectionError(`leader-churn ${this.spec.id}: no replicated partition to churn`);
  }

  /** A seeded partition gets a seeded other in-sync replica as its leader. */
  async move(index: number, acted: () => void): Promise<Move> {
    const t = this.context.now();
    const candidates = this.#candidates();
    const keys = candidates.map((c) => `${c.topic}/${c.partition}`).sort();
    const key = keys.length === 1 ? keys[0]! : this.context.random.pick(`${this.spec.id}.partition[${index}]`, keys);
    const state = await this.service.state();
    const partition = state.partitions.find((p) => `${p.topic}/${p.partition}` === key);
    if (!partition) return { t, what: key, from: '?', to: '?', ok: false, detail: `${key}: not in the cluster's metadata` };
    const from = partition.leader ?? 'none';
    const others = partition.isr.filter((m) => m !== partition.leader).sort();
    if (others.length === 0) return { t, what: key, from, to: 'none', ok: false, detail: `${key}: no other in-sync replica to lead (ISR ${partition.isr.join(', ') || 'empty'})` };
    const to = this.context.random.pick(`${this.spec.id}.move[${index}]`, others);
    try {
      acted();
      const reply = await this.service.admin.call('move', { topic: partition.topic, partition: partition.partition, to: this.service.nodeId(to) }, 20_000);
      const tookMs = Math.round(Number(reply.ledMs));
      return { t, what: key, from, to, ok: true, tookMs, detail: `moved ${key} leadership ${from} -> ${to} (led by ${to} after ${tookMs} ms)` };
    } catch (error) {
      return { t, what: key, from, to, ok: false, detail: `move ${key} ${from} -> ${to} failed: ${errorMessage(error)}` };
    }
  }

  async now(moves: readonly Move[]): Promise<Evidence> {
    const state = await this.service.state();
    const lastTo = new Map<string, string>();
    for (const m of moves) if (m.ok) lastTo.set(m.what, m.to);
    const held = [...lastTo].filter(([key, to]) => state.partitions.find((p) => `${p.topic}/${p.partition}` === key)?.leader === to);
    const ok = moves.some((m) => m.ok) && held.length > 0;
    return { t: this.context.now(), kind: 'leader', ok, detail: `${held.length} of ${lastTo.size} moved partitions are still led by the replica moat chose (${[...lastTo].map(([k, v]) => `${k} -> ${v}`).join(', ') || 'none moved'})` };
  }
}

class KafkaControllerMover extends ServiceMover<KafkaCluster> implements Mover {
  readonly label = `${this.spec.service} active controller`;
  #restarting: Promise<void> = Promise.resolve();

  async precheck(): Promise<void> {
    if ((await this.service.leader()).leader === null) throw new InjectionError(`leader-churn ${this.spec.id}: ${this.spec.service} has no active controller to move`);
  }

  /** Kills the active controller, waits for another, and restarts the killed one in the background. */
  async move(_index: number, acted: () => void): Promise<Move> {
    await this.#restarting; // the previous victim is back before the next kill: a quorum stays
    const t = this.context.now();
    const from = (await this.service.leader()).leader;
    if (from === null) return { t, what: 'controller', from: 'none', to: 'none', ok: false, detail: 'no active controller to move' };
    const member = this.service.member(from);
    const started = performance.now();
    member.process.stopping = true;
    process.kill(member.process.pid, 'SIGKILL');
    acted();
    let to: string | null = null;
    try {
      to = await waitFor('a new controller', 20_000, async () => {
        const view = await this.service.leader(1000);
        return view.leader !== null && view.leader !== from ? view.leader : undefined;
      }, 50);
    } catch {
      // reported below
    }
    const tookMs = Math.round(performance.now() - started);
    this.#restarting = (async () => {
      await member.process.exited;
      await this.service.restartMember(from);
    })();
    this.#restarting.catch(() => undefined);
    if (to === null) return { t, what: 'controller', from, to: 'none', ok: false, detail: `killed controller ${from}; no new controller within 20 s` };
    return { t, what: 'controller', from, to, ok: true, tookMs, detail: `killed controller ${from}; ${to} took over after ${tookMs} ms` };
  }

  async settle(): Promise<void> {
    await this.#restarting;
  }

  async now(moves: readonly Move[]): Promise<Evidence> {
    const view = await this.service.leader();
    const killed = new Set(moves.filter((m) => m.ok).map((m) => m.from));
    const ok = view.leader !== null && moves.some((m) => m.ok);
    return { t: this.context.now(), kind: 'leader', ok, detail: `active controller now ${view.leader ?? 'none'} (killed so far: ${[...killed].join(', ') || 'none'})` };
  }
}
