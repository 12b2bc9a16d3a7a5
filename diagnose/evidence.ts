import type { CauseKind } from '../core/journal.ts';
import { seriesLabel, type Series } from '../core/series.ts';
import { linkId, type Topology } from './topology.ts';

/**
 * A family of evidence: what a series says about the component it belongs to, and how much that
 * counts. Within a family only the strongest series of a component counts, so a component with
 * many series (an app with a dozen routes) does not outweigh one with a few.
 */
export type Family =
  /** TCP trouble across host pairs (retransmits, resets, closes): who is in the middle of it */
  | 'pairs'
  /** the kernel saw the process exit, or a signal that stops or kills it */
  | 'process'
  /** the member's own view of its cluster: no leader, failed proposals, heartbeats that fail */
  | 'consensus'
  /** scrapes of the member fail */
  | 'reachability'
  /** what the calling service sees of one dependency: its latency (calls, spans) */
  | 'dependency-latency'
  /** ... and its errors, breaker, shed requests */
  | 'dependency'
  /** the member's own request latency and errors (a symptom as often as a cause) */
  | 'service-latency'
  /** leadership moved away from the member, or moved repeatedly on the service */
  | 'leadership'
  /** what the load (the service's clients) and cluster-wide series see */
  | 'edge'
  /** the runtime: goroutines, heap, GC, syscall errors */
  | 'runtime'
  /** a service's: what all of its members show at once (its strength is a score, not a share) */
  | 'members'
  /** a change made to the service (a config write) shortly before symptoms of its own or its links */
  | 'change';

export const FAMILY_WEIGHT: Record<Family, number> = {
  pairs: 3, process: 4, consensus: 2, reachability: 1.5, 'dependency-latency': 3, dependency: 2, 'service-latency': 1, leadership: 2, edge: 0.75, runtime: 0.5, members: 1, change: 4,
};

/** A series turned into evidence: which component it speaks of, in which family, and what it suggests. */
export interface Channel {
  series: Series;
  label: string;
  component: string;
  family: Family;
  /** the cause this channel points to when it alone is anomalous */
  cause: CauseKind;
  /** 1 where the point is outside the series' normal (judged against the warm-up), else 0 */
  anomalous: Uint8Array;
  /** prefix sums of `anomalous`, for counts over any window in O(1) */
  prefix: Uint32Array;
  /** the warm-up's median, to say what was normal */
  normal: number;
}

/** Series that are the instruments, not the system: never evidence. */
// (the limits in force are the fault itself, not a symptom of it)
const IGNORED = new Set(['cgroup_cpu_quota_cores', 'cgroup_memory_limit_bytes', 'load_schedule_lag_p99_ms', 'load_late_ratio', 'load_dropped_per_sec', 'iterations', 'load_requests_per_sec', 'etcd_server_is_leader', 'etcd_server_proposals_committed_total:rate']);

const isLatency = (name: string) => /latency|duration|_ms$|:p99|round_trip/.test(name);
const isEventRate = (name: string) => name.endsWith('_per_sec') || name.endsWith(':rate') || name.startsWith('kafka_isr_') || name.startsWith('kafka_partition_leader_changes');

/**
 * Where a series belongs. Pair series (`bpf_tcp_*{src,dst}` or `{host,peer}`) are handled by the
 * pair analysis, not here.
 */
export function classify(series: Pick<Series, 'name' | 'labels'>, topology: Topology): { component: string; family: Family; cause: CauseKind } | undefined {
  const { name, labels } = series;
  if (IGNORED.has(name) || name.startsWith('bpf_tcp_')) return undefined;
  const member = labels.member ?? labels.host;
  const service = labels.service ?? (member ? topology.serviceOf.get(member) : undefined);
  if (labels.dependency && service && topology.members.has(labels.dependency)) {
    return isLatency(name) ? { component: linkId(service, labels.dependency), family: 'dependency-latency', cause: 'slow-dependency' } : { component: linkId(service, labels.dependency), family: 'dependency', cause: 'network-cut' };
  }
  if (name.startsWith('otel_span') && labels.span && service) {
    // a client span names the dependency it calls, e.g. `redis GET` or `etcd.Range`
    const dependency = [...topology.members.keys()].find((s) => s !== service && new RegExp(`(^|[^a-z0-9])${s}([^a-z0-9]|$)`, 'i').test(labels.span!));
    if (dependency) return isLatency(name) ? { component: linkId(service, dependency), family: 'dependency-latency', cause: 'slow-dependency' } : { component: linkId(service, dependency), family: 'dependency', cause: 'network-cut' };
    return { component: service, family: 'service-latency', cause: 'slow-dependency' };
  }
  if (name.startsWith('load_') || name.startsWith('http_req_')) {
    const target = labels.load ? topology.loadTarget.get(labels.load) : undefined;
    return target ? { component: target, family: 'edge', cause: isLatency(name) ? 'slow-dependency' : 'network-cut' } : undefined;
  }
  if (member && topology.serviceOf.has(member)) {
    if (name === 'up') return { component: member, family: 'reachability', cause: 'process-down' };
    if (name.startsWith('go_') || name.startsWith('bpf_go_') || name.startsWith('bpf_syscall_') || name.startsWith('process_') || name.startsWith('cgroup_')) return { component: member, family: 'runtime', cause: 'resource-pressure' };
    if (name.startsWith('etcd_server_') || name.startsWith('etcd_network_')) return { component: member, family: 'consensus', cause: 'network-cut' };
    return { component: member, family: 'service-latency', cause: isLatency(name) ? 'slow-dependency' : 'network-cut' };
  }
  if (service && topology.members.has(service)) {
    if (name === 'moat_leader_agreed' || name.includes('leader') || name.includes('controller')) return { component: service, family: 'leadership', cause: 'leadership-instability' };
    return { component: service, family: 'edge', cause: isLatency(name) ? 'slow-dependency' : 'network-cut' };
  }
  return undefined;
}

/** The warm-up points of a series: what it looked like before any fault. */
function baseline(series: Series, from: number, until: number): number[] {
  const values: number[] = [];
  for (let i = 0; i < series.t.length; i++) if (series.t[i]! >= from && series.t[i]! <= until && Number.isFinite(series.v[i]!)) values.push(series.v[i]!);
  return values;
}

function median(sorted: readonly number[]): number {
  const n = sorted.length;
  return n === 0 ? Number.NaN : n % 2 ? sorted[(n - 1) / 2]! : (sorted[n / 2 - 1]! + sorted[n / 2]!) / 2;
}

/**
 * Marks each point of a series as anomalous when it is more than `z` robust deviations from the
 * warm-up's median. The deviation has floors, so a series that never moved in the warm-up (a
 * has-leader gauge, a retransmit rate of zero) is anomalous only on a real change: 5% of its
 * level, or (at z = 6) about one event per second for rates. A rate series that first appears after the warm-up
 * (the first retransmit makes it) had a normal of zero.
 */
export function anomalies(series: Series, trainFrom: number, trainUntil: number, z = 6): { anomalous: Uint8Array; normal: number } | undefined {
  let values = baseline(series, trainFrom, trainUntil);
  if (values.length < 5) {
    if (!isEventRate(series.name) || (series.t.length > 0 && series.t[0]! < trainUntil)) return undefined;
    values = [0, 0, 0, 0, 0];
  }
  const sorted = [...values].sort((a, b) => a - b);
  const centre = median(sorted);
  const mad = median(sorted.map((v) => Math.abs(v - centre)).sort((a, b) => a - b));
  const floor = isEventRate(series.name) ? 0.15 : series.name.includes('ratio') || series.name.includes('failed') ? 0.01 : 1e-9;
  const scale = Math.max(1.4826 * mad, 0.05 * Math.abs(centre), floor);
  const anomalous = new Uint8Array(series.t.length);
  for (let i = 0; i < series.t.length; i++) {
    const v = series.v[i]!;
    anomalous[i] = Number.isFinite(v) && Math.abs(v - centre) / scale > z ? 1 : 0;
  }
  return { anomalous, normal: centre };
}

function prefixOf(flags: Uint8Array): Uint32Array {
  const prefix = new Uint32Array(flags.length + 1);
  for (let i = 0; i < flags.length; i++) prefix[i + 1] = prefix[i]! + flags[i]!;
  return prefix;
}

/** Every series that speaks of a component, with its anomalous points marked. */
export function channelsOf(series: readonly Series[], topology: Topology, trainFrom: number, trainUntil: number): Channel[] {
  const channels: Channel[] = [];
  for (const s of series) {
    const where = classify(s, topology);
    if (!where) continue;
    const marked = anomalies(s, trainFrom, trainUntil);
    if (!marked) continue;
    channels.push({ series: s, label: seriesLabel(s), ...where, anomalous: marked.anomalous, prefix: prefixOf(marked.anomalous), normal: marked.normal });
  }
  return channels;
}

/** A host pair's TCP trouble: `src` had trouble talking to `dst` (retransmits, resets received, closes). */
export interface PairChannel {
  label: string;
  /** the host that saw the trouble */
  from: string;
  /** the host it had trouble with */
  to: string;
  /** resets received point at a peer that refuses (a dead process); retransmits at one that does not answer */
  what: 'retransmits' | 'resets' | 'closes';
  series: Series;
  anomalous: Uint8Array;
  prefix: Uint32Array;
}

export function pairChannelsOf(series: readonly Series[], trainFrom: number, trainUntil: number): PairChannel[] {
  const out: PairChannel[] = [];
  for (const s of series) {
    const what = s.name === 'bpf_tcp_retransmits_per_sec' ? 'retransmits' : s.name === 'bpf_tcp_resets_received_per_sec' ? 'resets' : s.name === 'bpf_tcp_closes_per_sec' ? 'closes' : undefined;
    if (!what) continue;
    const from = s.labels.src ?? s.labels.host;
    const to = s.labels.dst ?? s.labels.peer;
    if (!from || !to) continue;
    const marked = anomalies(s, trainFrom, trainUntil);
    if (!marked) continue;
    out.push({ label: seriesLabel(s), from, to, what, series: s, anomalous: marked.anomalous, prefix: prefixOf(marked.anomalous) });
  }
  return out;
}

/** How many points of a channel are anomalous in (from, to]: by binary search on its times. */
export function countIn(channel: { series: Series; prefix: Uint32Array }, from: number, to: number): number {
  const t = channel.series.t;
  const lower = (x: number) => {
    let lo = 0;
    let hi = t.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (t[mid]! <= x) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
  return channel.prefix[lower(to)]! - channel.prefix[lower(from)]!;
}
