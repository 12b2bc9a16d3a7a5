import type { CauseKind, ComponentRef, ConfigWriteEvent, Diagnosis, FaultDiagnosis, FaultRecord, Hypothesis, Journal, LeaderChangeEvent } from '../core/journal.ts';
import type { Series } from '../core/series.ts';
import { channelsOf, countIn, FAMILY_WEIGHT, pairChannelsOf, type Channel, type Family, type PairChannel } from './evidence.ts';
import { linkId, topologyOf, type Topology } from './topology.ts';

export interface LocalizerSettings {
  /** the evidence the localizer reads at each moment: the last `windowMs` */
  windowMs: number;
  /** how often the ranking is taken during a fault, for the time to localize */
  stepMs: number;
  /** anomalous points in the window at which a series counts in full */
  saturate: number;
  /** how much of a caller's own symptoms a troubled link to its dependency explains away */
  explainedByDependency: number;
  /** how much of the evidence every member of a service shows at once counts for the service */
  commonToService: number;
  /** how long a config write stays the first suspect for symptoms of its service and the service's links */
  changeWindowMs: number;
}

export const LOCALIZER_DEFAULTS: LocalizerSettings = { windowMs: 30_000, stepMs: 1000, saturate: 3, explainedByDependency: 0.75, commonToService: 0.75, changeWindowMs: 300_000 };

/** One component's standing at a moment: its score, and each family's strongest piece of evidence. */
export interface Ranked {
  component: ComponentRef;
  score: number;
  contributions: { family: Family; strength: number; cause: CauseKind; evidence: string }[];
}

interface ProcessEvent { t: number; member: string; detail: string }

const wordIn = (text: string, word: string) => new RegExp(`(^|[^a-z0-9-])${word.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}([^a-z0-9-]|$)`).test(text);

/**
 * Ranks the twin's components by the evidence of the last `windowMs` at any moment, from the run's
 * series (anomalous against the warm-up), the host-pair TCP series of the eBPF probes, the kernel's
 * process events and the leader changes, over the twin's topology. It knows nothing of the faults:
 * the same ranking serves a live run and a saved one.
 */
export class Localizer {
  readonly topology: Topology;
  readonly settings: LocalizerSettings;
  readonly #channels: Channel[];
  readonly #pairs: PairChannel[];
  readonly #processEvents: ProcessEvent[];
  readonly #leaderChanges: LeaderChangeEvent[];
  readonly #configWrites: ConfigWriteEvent[];
  readonly #byId: Map<string, ComponentRef>;

  constructor(journal: Pick<Journal, 'scenario' | 'timeline' | 'warmupEndsAt'>, series: readonly Series[], settings: Partial<LocalizerSettings> = {}) {
    this.settings = { ...LOCALIZER_DEFAULTS, ...settings };
    this.topology = topologyOf(journal.scenario);
    this.#byId = new Map(this.topology.components.map((c) => [c.id, c]));
    // the first seconds carry connection set-up noise: the normal is the rest of the warm-up
    const trainUntil = journal.warmupEndsAt;
    const trainFrom = Math.min(5000, trainUntil / 4);
    this.#channels = channelsOf(series, this.topology, trainFrom, trainUntil);
    this.#pairs = pairChannelsOf(series, trainFrom, trainUntil).filter((p) => this.topology.serviceOf.has(p.to));
    const members = [...this.topology.serviceOf.keys()].sort((a, b) => b.length - a.length);
    this.#processEvents = journal.timeline.flatMap((e) => {
      if (e.kind !== 'process-exit') return [];
      const member = members.find((m) => wordIn(e.detail, m));
      return member ? [{ t: e.t, member, detail: e.detail }] : [];
    });
    this.#leaderChanges = journal.timeline.filter((e): e is LeaderChangeEvent => e.kind === 'leader-change');
    this.#configWrites = journal.timeline.filter((e): e is ConfigWriteEvent => e.kind === 'config-write');
  }

  /** Every component with any evidence at `t`, strongest first. */
  rank(t: number): Ranked[] {
    const from = t - this.settings.windowMs;
    const best = new Map<string, Map<Family, Ranked['contributions'][number]>>();
    const offer = (component: string, family: Family, strength: number, cause: CauseKind, evidence: string) => {
      if (strength <= 0 || !this.#byId.has(component)) return;
      const families = best.get(component) ?? new Map();
      best.set(component, families);
      const current = families.get(family);
      if (!current || strength > current.strength) families.set(family, { family, strength, cause, evidence });
    };
    const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
    for (const channel of this.#channels) {
      const n = countIn(channel, from, t);
      if (n === 0) continue;
      offer(channel.component, channel.family, Math.min(1, n / this.settings.saturate), channel.cause, `${channel.label} outside its normal (${formatNumber(channel.normal)}) at ${n} points in the last ${seconds(this.settings.windowMs)}`);
    }
    // host pairs: a host that many others have trouble reaching is in the middle of it. Retransmits
    // say it most plainly (a peer that does not answer); resets and closes less (a cut made with
    // rejects resets both ways, and leader changes close streams), so they count half.
    const peersOf = new Map<string, Set<string>>();
    const troubled = new Map<string, Record<PairChannel['what'], Set<string>>>();
    for (const pair of this.#pairs) {
      peersOf.set(pair.to, (peersOf.get(pair.to) ?? new Set()).add(pair.from));
      if (countIn(pair, from, t) === 0) continue;
      const seen = troubled.get(pair.to) ?? { retransmits: new Set<string>(), resets: new Set<string>(), closes: new Set<string>() };
      troubled.set(pair.to, seen);
      seen[pair.what].add(pair.from);
    }
    const PAIR_WEIGHT: Record<PairChannel['what'], number> = { retransmits: 1, resets: 0.5, closes: 0.5 };
    const PAIR_TEXT: Record<PairChannel['what'], string> = { retransmits: 'TCP retransmits to', resets: 'connections reset by', closes: 'connections closed with' };
    for (const [host, seen] of troubled) {
      const peers = Math.max(peersOf.get(host)!.size, 1);
      const [what, sources] = (Object.entries(seen) as [PairChannel['what'], Set<string>][]).sort((a, b) => PAIR_WEIGHT[b[0]] * b[1].size - PAIR_WEIGHT[a[0]] * a[1].size)[0]!;
      offer(host, 'pairs', (PAIR_WEIGHT[what] * sources.size) / peers, 'network-cut', `${PAIR_TEXT[what]} ${host} from ${[...sources].sort().join(', ')} (${sources.size} of ${peers} peers)`);
    }
    for (const event of this.#processEvents) if (event.t > from && event.t <= t) offer(event.member, 'process', 1, 'process-down', event.detail);
    // leadership: moved away from a member (once, it points at that member; many times, at the service)
    const changes = this.#leaderChanges.filter((e) => e.t > from && e.t <= t);
    const deposedBy = new Map<string, Set<string>>();
    for (const change of changes) {
      if (change.from !== null) deposedBy.set(change.service, (deposedBy.get(change.service) ?? new Set()).add(change.from));
    }
    for (const [service, deposed] of deposedBy) {
      const moves = changes.filter((c) => c.service === service && c.from !== null).length;
      for (const member of deposed) offer(member, 'leadership', 1 / deposed.size, 'leadership-instability', `leadership moved away from ${member} (${service}, ${moves} move${moves === 1 ? '' : 's'} in the last ${seconds(this.settings.windowMs)})`);
      if (deposed.size > 1) offer(service, 'leadership', Math.min(1, deposed.size / 3), 'leadership-instability', `leadership of ${service} moved away from ${deposed.size} members in the last ${seconds(this.settings.windowMs)}`);
    }
    // what changed: a config write to a service is the first suspect while the service or its links
    // show symptoms (the write explains what its own calls now do), for `changeWindowMs` after it
    const changed = new Set<string>();
    for (const write of this.#configWrites) {
      if (write.t > t || write.t <= t - this.settings.changeWindowMs || !this.#byId.has(write.service)) continue;
      const own = new Set([write.service, ...(this.topology.members.get(write.service) ?? []), ...this.topology.links.filter((l) => l.from === write.service).map((l) => l.id)]);
      // symptoms since the write, within the window (what came before is not its doing), and
      // plain ones: a series of its own outside its normal at `saturate` points, not one noisy point
      const since = Math.max(write.t, from);
      if (!this.#channels.some((c) => own.has(c.component) && countIn(c, since, t) >= this.settings.saturate)) continue;
      changed.add(write.service);
      offer(write.service, 'change', 1, 'config-change', `${write.detail}, ${seconds(t - write.t)} before; its ${own.size > 2 ? 'links and members' : 'members'} show symptoms since`);
    }
    const scored = [...best].map(([id, families]): Ranked => {
      const contributions = [...families.values()].sort((a, b) => FAMILY_WEIGHT[b.family] * b.strength - FAMILY_WEIGHT[a.family] * a.strength);
      return { component: this.#byId.get(id)!, score: contributions.reduce((sum, c) => sum + FAMILY_WEIGHT[c.family] * c.strength, 0), contributions };
    });
    // a caller's symptoms that a troubled link to its dependency explains are not its own
    const byId = new Map(scored.map((r) => [r.component.id, r]));
    for (const link of this.topology.links) {
      const strength = Math.max(0, ...(byId.get(link.id)?.contributions.filter((c) => c.family === 'dependency' || c.family === 'dependency-latency').map((c) => c.strength) ?? []));
      if (strength === 0) continue;
      const factor = 1 - this.settings.explainedByDependency * strength;
      for (const caller of [link.from, ...(this.topology.members.get(link.from) ?? [])]) {
        const r = byId.get(caller);
        if (!r) continue;
        r.score = r.contributions.reduce((sum, c) => sum + FAMILY_WEIGHT[c.family] * c.strength * (c.family === 'process' || c.family === 'pairs' || c.family === 'change' ? 1 : factor), 0);
      }
    }
    // a changed service's calls behave as its new config says: their symptoms are the change's
    for (const link of this.topology.links) {
      const r = changed.has(link.from) ? byId.get(link.id) : undefined;
      if (r) r.score *= 1 - this.settings.explainedByDependency;
    }
    // while a service's leadership moves between several members, what all of them show is the
    // service's, not any one member's (leader churn; a controller killed on one broker after
    // another); a cut or killed member deposes one leader and stands out above the rest
    for (const service of this.topology.members.keys()) {
      // the members leadership moved away from: each had its turn, none is the cause alone
      const members = [...(deposedBy.get(service) ?? [])].filter((m) => this.topology.serviceOf.get(m) === service).sort();
      if (members.length < 2) continue;
      const ranked = members.map((m) => byId.get(m));
      if (ranked.some((r) => r === undefined || r.score <= 0)) continue;
      const common = Math.min(...ranked.map((r) => r!.score));
      for (const r of ranked) r!.score -= common;
      let own = byId.get(service);
      if (!own) {
        own = { component: this.#byId.get(service)!, score: 0, contributions: [] };
        byId.set(service, own);
        scored.push(own);
      }
      const cause: CauseKind = 'leadership-instability';
      const strength = this.settings.commonToService * common;
      own.contributions.push({ family: 'members', strength, cause, evidence: `every member ${service}'s leadership moved away from shows it (${members.join(', ')}): ${ranked[0]!.contributions[0]?.evidence ?? ''}` });
      own.contributions.sort((a, b) => FAMILY_WEIGHT[b.family] * b.strength - FAMILY_WEIGHT[a.family] * a.strength);
      own.score += FAMILY_WEIGHT.members * strength;
    }
    return scored.filter((r) => r.score > 1e-9).sort((a, b) => b.score - a.score || a.component.id.localeCompare(b.component.id));
  }

  /** The top `count` hypotheses at `t`, with the evidence for each. */
  hypotheses(t: number, count = 3, exclude: ReadonlySet<string> = new Set()): Hypothesis[] {
    const ranked = this.rank(t).filter((r) => !exclude.has(r.component.id));
    const total = ranked.reduce((sum, r) => sum + r.score, 0);
    return ranked.slice(0, count).map((r) => ({ component: r.component, cause: causeOf(r), confidence: total > 0 ? round(r.score / total) : 0, evidence: r.contributions.map((c) => c.evidence) }));
  }
}

/** The cause a component's evidence points to: that of its weightiest family. */
function causeOf(r: Ranked): CauseKind {
  return r.contributions[0]!.cause;
}

const round = (v: number) => Math.round(v * 1000) / 1000;
const formatNumber = (v: number) => (Math.abs(v) >= 100 ? String(Math.round(v)) : String(Number(v.toPrecision(3))));

/** Where a fault really was: the components it acted on, and the kind of cause it is. */
export function truthOf(fault: Pick<FaultRecord, 'id' | 'type' | 'hosts' | 'service'>, scenario: Pick<Journal['scenario'], 'faults'>, topology: Topology): { components: Set<string>; cause: CauseKind } {
  const spec = scenario.faults.find((f) => f.id === fault.id) as { type: string; action?: string; toxic?: string; app?: string; service?: string } | undefined;
  switch (fault.type) {
    case 'toxic': {
      const service = spec?.service ?? fault.service ?? '';
      const slow = ['latency', 'bandwidth', 'slow_close', 'slicer', 'timeout'].includes(spec?.toxic ?? '');
      // the link, or the service behind it as its caller sees it; a member only when it is the whole service
      const members = topology.members.get(service) ?? [];
      return { components: new Set([linkId(spec?.app ?? '', service), service, ...(members.length === 1 ? members : [])]), cause: slow ? 'slow-dependency' : 'network-cut' };
    }
    case 'leader-churn':
      return { components: new Set([fault.service ?? '']), cause: 'leadership-instability' };
    case 'process':
      return { components: new Set(fault.hosts), cause: 'process-down' };
    case 'partition':
      return { components: new Set(fault.hosts), cause: 'network-cut' };
    case 'config': {
      // the app whose config changed (and its member, when it is the whole app)
      const app = spec?.app ?? fault.service ?? '';
      const members = topology.members.get(app) ?? [];
      return { components: new Set([app, ...(members.length === 1 ? members : [])]), cause: 'config-change' };
    }
    case 'cpu-throttle':
    case 'memory-squeeze':
      // the member whose limits were cut
      return { components: new Set(fault.hosts), cause: 'resource-pressure' };
    default:
      return { components: new Set([...fault.hosts, ...(fault.service ? [fault.service] : [])]), cause: 'network-cut' };
  }
}

/**
 * Localizes every applied fault of a run and scores it against the truth: the ranking is taken
 * every `stepMs` from the fault's start to its heal; TTL is the time from the start until the top
 * hypothesis named a true component and stayed on it until the heal; top-1 and top-3 are judged at
 * the heal. When faults overlap, the components another active fault really hit are left out of
 * this fault's ranking (naming them is right, just not for this fault).
 */
export function diagnoseRun(journal: Pick<Journal, 'scenario' | 'timeline' | 'warmupEndsAt' | 'faults'>, series: readonly Series[], settings: Partial<LocalizerSettings> = {}): Diagnosis {
  const started = performance.now();
  const localizer = new Localizer(journal, series, settings);
  const { stepMs } = localizer.settings;
  const lastT = Math.max(journal.warmupEndsAt, ...series.map((s) => s.t[s.t.length - 1] ?? 0));
  const applied = journal.faults.filter((f) => f.appliedAt !== null);
  const truths = new Map(applied.map((f) => [f.id, truthOf(f, journal.scenario, localizer.topology)]));
  const faults = applied.map((fault): FaultDiagnosis => {
    const start = fault.appliedAt!;
    const end = Math.max(start, fault.healedAt ?? lastT);
    const truth = truths.get(fault.id)!;
    const exclude = new Set<string>();
    for (const other of applied) {
      if (other.id === fault.id || other.appliedAt! > end || (other.healedAt ?? lastT) < start) continue;
      for (const c of truths.get(other.id)!.components) if (!truth.components.has(c)) exclude.add(c);
    }
    const path: FaultDiagnosis['path'] = [];
    let correctSince: number | null = null;
    for (let t = start + stepMs; ; t += stepMs) {
      const at = Math.min(t, end);
      const top = localizer.hypotheses(at, 1, exclude)[0];
      const id = top?.component.id ?? '';
      if (top && path[path.length - 1]?.component !== id) path.push({ t: Math.round(at), component: id, cause: top.cause });
      if (top && truth.components.has(id)) correctSince ??= at;
      else correctSince = null;
      if (at >= end) break;
    }
    const hypotheses = localizer.hypotheses(end, 3, exclude);
    return {
      faultId: fault.id, truth: [...truth.components].filter(Boolean).sort(), truthCause: truth.cause, hypotheses,
      ttlMs: correctSince === null ? null : Math.round(correctSince - start),
      top1: hypotheses[0] !== undefined && truth.components.has(hypotheses[0].component.id),
      top3: hypotheses.some((h) => truth.components.has(h.component.id)),
      causeCorrect: hypotheses[0]?.cause === truth.cause,
      path,
    };
  });
  return { windowMs: localizer.settings.windowMs, faults, elapsedMs: Math.round(performance.now() - started) };
}
