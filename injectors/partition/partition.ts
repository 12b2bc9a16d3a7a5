import { HealError, InjectionError, errorMessage } from '../../core/errors.ts';
import { formatMs } from '../../core/units.ts';
import type { TargetSpec } from '../../core/scenario.ts';
import type { Cut, PartitionPlan } from '../../twin/index.ts';
import type { ActiveFault, Evidence, FaultType, InjectionContext, Verifiable } from '../types.ts';
import { buildPartition, partitionSchema, type PartitionSpec } from './spec.ts';

function describeTarget(target: TargetSpec): string {
  return target.source;
}

/**
 * Network partitions, put in place by the twin's backend (nftables drop rules inside the netns
 * hosts):
 * - isolate: the target can neither send to nor receive from any other twin host;
 * - one-way: the target cannot reach `to` (default: every other host), while `to` still reaches it;
 * - split: hosts in different groups cannot talk; hosts in no group keep every link.
 * The run's own side (the gateway, where load and scraping come from) is never cut.
 */
export const partitionInjector: FaultType<PartitionSpec, import('zod').output<typeof partitionSchema>> = {
  type: 'partition',
  schema: partitionSchema,
  build: buildPartition,
  service: (spec) => (spec.mode === 'split' ? spec.groups[0]![0]!.service : spec.target.service),
  actuationKey: (spec) => `partition:${spec.mode}`,

  describe(spec) {
    const window = `at ${formatMs(spec.atMs)} for ${formatMs(spec.durationMs)}`;
    switch (spec.mode) {
      case 'isolate': return `partition ${spec.id}: isolate ${describeTarget(spec.target)} from every other twin host, ${window}`;
      case 'one-way': return `partition ${spec.id}: ${describeTarget(spec.target)} cannot reach ${spec.to ? spec.to.map(describeTarget).join(', ') : 'any other twin host'} (the reverse still works), ${window}`;
      case 'split': return `partition ${spec.id}: split into ${spec.groups.map((g) => `[${g.map(describeTarget).join(', ')}]`).join(' | ')}, ${window}`;
    }
  },

  async inject(spec, context) {
    const { plan, label, hosts } = await resolvePlan(spec, context);
    let cut: Cut;
    try {
      cut = await context.twin.backend.cut(plan, `f${context.faultIndex}`);
    } catch (error) {
      throw new InjectionError(`partition ${spec.id} could not be applied: ${errorMessage(error)}`, { cause: error });
    }
    return new ActivePartition(context, cut, plan, label, hosts);
  },
};

async function resolvePlan(spec: PartitionSpec, context: InjectionContext): Promise<{ plan: PartitionPlan; label: string; hosts: string[] }> {
  switch (spec.mode) {
    case 'isolate': {
      const target = await context.resolve(spec.target, `${spec.id}.target`);
      return { plan: { mode: 'isolate', target: target.host }, label: target.label, hosts: [target.host] };
    }
    case 'one-way': {
      const from = await context.resolve(spec.target, `${spec.id}.target`);
      const to: string[] = [];
      if (spec.to) {
        for (const [i, t] of spec.to.entries()) to.push((await context.resolve(t, `${spec.id}.to[${i}]`, [from.host, ...to])).host);
      } else {
        to.push(...[...context.twin.hosts.keys()].filter((h) => h !== from.host));
      }
      if (to.includes(from.host)) throw new InjectionError(`partition ${spec.id}: ${from.host} cannot be cut from itself`);
      return { plan: { mode: 'one-way', from: from.host, to }, label: `${from.label} -/-> ${to.join(', ')}`, hosts: [from.host, ...to] };
    }
    case 'split': {
      const groups: string[][] = [];
      const taken: string[] = [];
      for (const [g, group] of spec.groups.entries()) {
        const resolved: string[] = [];
        for (const [i, t] of group.entries()) {
          const host = (await context.resolve(t, `${spec.id}.groups[${g}][${i}]`, taken)).host;
          resolved.push(host);
          taken.push(host);
        }
        groups.push(resolved);
      }
      return { plan: { mode: 'split', groups }, label: groups.map((g) => `[${g.join(', ')}]`).join(' | '), hosts: groups.flat() };
    }
  }
}

class ActivePartition implements ActiveFault, Verifiable {
  readonly target: string;
  readonly hosts: readonly string[];
  readonly #context: InjectionContext;
  readonly #cut: Cut;
  readonly #plan: PartitionPlan;
  readonly #appliedAt: number;
  #healing: Promise<void> | undefined;

  constructor(context: InjectionContext, cut: Cut, plan: PartitionPlan, label: string, hosts: string[]) {
    this.#context = context;
    this.#cut = cut;
    this.#plan = plan;
    this.target = label;
    this.hosts = hosts;
    this.#appliedAt = context.now();
  }

  heal(): Promise<void> {
    this.#healing ??= this.#cut.heal().catch((error: unknown) => {
      throw new HealError(`partition: ${errorMessage(error)}`, { cause: error });
    });
    return this.#healing;
  }

  /**
   * Evidence that the cut is real: probe connections across it now fail (and, for one-way
   * cuts, the reverse direction still opens), and the drop rules counted real packets.
   */
  async verify(): Promise<Evidence[]> {
    const { backend } = this.#context.twin;
    const probes = this.#probes();
    const evidence: Evidence[] = await Promise.all(probes.map(async ({ from, to, expectOpen }): Promise<Evidence> => {
      const port = this.#context.twin.probePort(to);
      const open = await backend.canConnect(from, backend.host(to).ip, port, 300);
      const what = `${from} -> ${to}:${port} ${open ? 'connected' : 'timed out'}`;
      return { t: this.#context.now(), kind: 'probe', ok: open === expectOpen, detail: `${what} (expected ${expectOpen ? 'open' : 'cut'})` };
    }));
    if (this.#plan.mode === 'isolate' && this.target.endsWith('(leader)')) {
      // a leader change is a consequence, not the cut itself: it is evidence when seen, and only a
      // note when the fault is younger than an election (the probes and counters decide)
      const service = [...this.#context.twin.services.values()].find((s) => s.members.some((m) => m.name === this.hosts[0]));
      if (service) {
        const majority = service.members.filter((m) => m.name !== this.hosts[0]).map((m) => m.name);
        const view = await service.leader();
        const majorityLeader = view.views.find((v) => majority.includes(v.member) && v.leader)?.leader;
        const changed = majorityLeader !== undefined && majorityLeader !== this.hosts[0];
        evidence.push({
          t: this.#context.now(), kind: changed ? 'leader' : 'note', ok: true,
          detail: `majority side (${majority.join(', ')}) ${changed ? `elected ${majorityLeader}` : 'has no new leader yet'} (the isolated leader was ${this.hosts[0]})`,
        });
      }
    }
    evidence.push(...(await this.#kernelEvidence()));
    for (const { host, packets } of await this.#cut.droppedPackets()) {
      evidence.push({ t: this.#context.now(), kind: 'counter', ok: packets > 0, detail: `${host}: ${packets} packets dropped by the cut's rules` });
    }
    return evidence;
  }

  /**
   * What the kernel saw (eBPF tracepoints): TCP retransmits and resets between exactly the cut
   * pairs, and none between pairs the fault left alone. Waits for the probes' next interval so
   * the counts reach up to now.
   */
  async #kernelEvidence(): Promise<Evidence[]> {
    const bpf = this.#context.bpf;
    if (!bpf) return [];
    const askedAt = this.#context.now();
    const deadline = askedAt + this.#context.intervalMs + 1000;
    while (bpf.lastTickAt < askedAt && this.#context.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const counts = bpf.tcpBetween(this.#appliedAt, this.#context.now());
    const cut = new Set(this.#cutPairs().flatMap(([a, b]) => [`${a}>${b}`, `${b}>${a}`]));
    // Containment is judged among the members of the services this fault touches: another fault
    // on another service of the twin may be cutting its own pairs at the same time.
    const scope = new Set([...this.#context.twin.services.values()].filter((s) => s.members.some((m) => this.hosts.includes(m.name))).flatMap((s) => s.members.map((m) => m.name)));
    let across = 0;
    let elsewhere = 0;
    const elsewherePairs: string[] = [];
    for (const [pair, { retransmits, resets }] of counts) {
      const [a, b] = pair.split('>');
      if (a === 'moat' || b === 'moat') continue; // the run's own connections are never cut
      if (cut.has(pair)) across += retransmits + resets;
      else if (!scope.has(a!) || !scope.has(b!)) continue;
      // Resets also follow a leader change between hosts that still talk (connections are torn
      // down and redialled); lost packets show as retransmits, so only those count elsewhere.
      else if (retransmits > 0) {
        elsewhere += retransmits;
        elsewherePairs.push(pair);
      }
    }
    const t = this.#context.now();
    // a stray retransmit on a busy machine is not a leak; one in ten of the cut's would be
    const contained = elsewhere * 10 < Math.max(across, 1);
    return [
      { t, kind: 'ebpf', ok: across > 0, detail: `kernel: ${across} TCP retransmits/resets across the cut since it was applied` },
      { t, kind: 'ebpf', ok: contained, detail: elsewhere === 0 ? 'kernel: no retransmits between hosts the fault did not cut' : `kernel: ${elsewhere} retransmits between hosts the fault did not cut (${elsewherePairs.join(', ')})${contained ? ', under a tenth of those across it' : ''}` },
    ];
  }

  /** Unordered host pairs the partition cuts. */
  #cutPairs(): [string, string][] {
    const all = [...this.#context.twin.hosts.keys()];
    switch (this.#plan.mode) {
      case 'isolate': {
        const target = this.#plan.target;
        return all.filter((h) => h !== target).map((h): [string, string] => [target, h]);
      }
      case 'one-way': {
        const from = this.#plan.from;
        return this.#plan.to.map((to): [string, string] => [from, to]);
      }
      case 'split': {
        const groups = this.#plan.groups;
        return groups.flatMap((group, g) => groups.slice(g + 1).flatMap((other) => group.flatMap((a) => other.map((b): [string, string] => [a, b]))));
      }
    }
  }

  #probes(): { from: string; to: string; expectOpen: boolean }[] {
    const all = [...this.#context.twin.hosts.keys()];
    switch (this.#plan.mode) {
      case 'isolate': {
        const target = this.#plan.target;
        return all.filter((h) => h !== target).flatMap((peer) => [{ from: target, to: peer, expectOpen: false }, { from: peer, to: target, expectOpen: false }]);
      }
      case 'one-way': {
        const from = this.#plan.from;
        return this.#plan.to.flatMap((to) => [{ from, to, expectOpen: false }, { from: to, to: from, expectOpen: true }]);
      }
      case 'split': {
        const [first, second] = this.#plan.groups;
        return first && second ? [{ from: first[0]!, to: second[0]!, expectOpen: false }, { from: second[0]!, to: first[0]!, expectOpen: false }] : [];
      }
    }
  }
}
