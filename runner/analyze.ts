import { aggregate, compare, percentile } from '../core/thresholds.ts';
import type { Series } from '../core/series.ts';
import type { Detection, Alarm } from '../core/detection.ts';
import type { FaultRecord, GateResult, LeaderChangeEvent, LoadSummary, TimelineEvent } from '../core/journal.ts';
import type { GateSpec } from './scenario/index.ts';
import { GATE_METRICS } from './scenario/index.ts';
import type { LoadResult } from '../load/etcd-kv.ts';

/**
 * When the load was healthy again after a heal: the start of the first run of `steadyPoints`
 * load points whose error ratio is within the warm-up's normal (at most max(1%, 2 x warm-up mean)),
 * and the members agree on a leader. Null when it never recovered before the run ended.
 */
export function recoveryAfter(healedAt: number, errorSeries: readonly Series[], warmupEndsAt: number, leaderAgreedAt: number | null, steadyPoints = 3): number | null {
  let loadRecoveredAt = healedAt;
  for (const series of errorSeries) {
    const warm = Array.from(series.v).filter((_, i) => series.t[i]! <= warmupEndsAt);
    const normal = Math.max(0.01, 2 * (warm.length ? warm.reduce((a, b) => a + b, 0) / warm.length : 0));
    let run = 0;
    let recoveredAt: number | null = null;
    for (let i = 0; i < series.t.length; i++) {
      // a load point covers the second before its stamp: the first bucket that starts after the heal counts
      const bucketStart = series.t[i]! - 1000;
      if (bucketStart < healedAt) continue;
      if (series.v[i]! <= normal) {
        run++;
        if (run === 1) recoveredAt = bucketStart;
        if (run >= steadyPoints) break;
      } else {
        run = 0;
        recoveredAt = null;
      }
    }
    if (run < steadyPoints || recoveredAt === null) return null;
    loadRecoveredAt = Math.max(loadRecoveredAt, recoveredAt);
  }
  if (leaderAgreedAt === null) return null;
  return Math.max(loadRecoveredAt, leaderAgreedAt) - healedAt;
}

/** The service-wide leader changes of one service (partition leaders of Kafka are left out), in time order. */
function serviceLeaderChanges(timeline: readonly TimelineEvent[], service: string): LeaderChangeEvent[] {
  return timeline.filter((e): e is LeaderChangeEvent => e.kind === 'leader-change' && e.service === service && e.partition === undefined);
}

/** The first leader change after `appliedAt` to a leader other than the one before it. */
export function firstLeaderChange(timeline: readonly TimelineEvent[], appliedAt: number, service: string): FaultRecord['leaderChange'] | undefined {
  let previous: string | null = null;
  for (const event of serviceLeaderChanges(timeline, service)) {
    if (event.t < appliedAt) {
      previous = event.to;
      continue;
    }
    if (event.to !== null && event.to !== previous) return { from: previous, to: event.to, afterMs: event.t - appliedAt };
    if (event.to === null && event.from !== null) previous = previous ?? event.from;
  }
  return undefined;
}

/**
 * Elections seen on the service from the heal until `until`: every time a leader emerged in a new
 * term (the same member elected again counts). A member that rejoins with an inflated term (no
 * pre-vote) forces one; with pre-vote there should be none.
 */
export function electionsAfterHeal(timeline: readonly TimelineEvent[], healedAt: number, until: number, service: string): number {
  let elections = 0;
  let term: number | undefined;
  for (const event of serviceLeaderChanges(timeline, service)) {
    if (event.t <= healedAt) {
      if (event.to !== null) term = event.term;
      continue;
    }
    if (event.t > until) break;
    if (event.to !== null && (term === undefined || event.term === undefined || event.term > term)) elections++;
    if (event.to !== null) term = event.term;
  }
  return elections;
}

export function summarizeLoad(result: LoadResult): LoadSummary {
  const byOp: LoadSummary['byOp'] = {};
  for (const [op, { requests, errors, latenciesMs }] of Object.entries(result.byOp)) {
    byOp[op] = {
      requests, errors,
      p50Ms: latenciesMs.length ? percentile(latenciesMs, 50) : null,
      p99Ms: latenciesMs.length ? percentile(latenciesMs, 99) : null,
      maxMs: latenciesMs.length ? latenciesMs.reduce((a, b) => Math.max(a, b), 0) : null,
    };
  }
  const { byOp: _raw, ...rest } = result;
  return { ...rest, byOp };
}

export interface GateInputs {
  loads: readonly LoadResult[];
  faults: readonly FaultRecord[];
  detections: readonly Detection[];
  falseAlarms: readonly Alarm[];
  detectors: readonly string[];
}

/**
 * Evaluates every gate threshold. A missed detection counts as an infinite TTD and a fault that
 * never recovered as an infinite recovery, so a `max < N` gate fails on them.
 */
export function evaluateGates(gates: readonly GateSpec[], inputs: GateInputs): GateResult[] {
  const results: GateResult[] = [];
  for (const gate of gates) {
    const { metric, tags } = gate.selector;
    const values = metricValues(metric, tags, inputs);
    for (const threshold of gate.thresholds) {
      const scale = threshold.percent && GATE_METRICS[metric]?.ratio ? 0.01 : 1;
      const expected = threshold.value * scale;
      const actual = aggregate(values, threshold.aggregation);
      const ok = !Number.isNaN(actual) && compare(actual, threshold.operator, expected);
      const shown = Number.isNaN(actual) ? 'no data' : formatValue(actual, scale === 0.01);
      results.push({
        metric: gate.selector.source, threshold: threshold.source, actual: Number.isFinite(actual) ? actual : Number.isNaN(actual) ? null : actual, ok,
        detail: `${gate.selector.source} ${threshold.source}: ${shown} over ${values.length} value${values.length === 1 ? '' : 's'}`,
      });
    }
  }
  return results;
}

function formatValue(value: number, ratio: boolean): string {
  if (!Number.isFinite(value)) return String(value);
  return ratio ? `${(value * 100).toFixed(3)}%` : String(Math.round(value * 1000) / 1000);
}

function metricValues(metric: string, tags: Record<string, string>, inputs: GateInputs): number[] {
  const loads = inputs.loads.filter((l) => tags.load === undefined || l.name === tags.load);
  switch (metric) {
    case 'availability':
      return loads.map((l) => {
        if (tags.op === undefined) return l.availability;
        const op = l.byOp[tags.op];
        return op && op.requests > 0 ? 1 - op.errors / op.requests : Number.NaN;
      }).filter((v) => !Number.isNaN(v));
    case 'latency_ms':
      return loads.flatMap((l) => Object.entries(l.byOp).filter(([op]) => tags.op === undefined || op === tags.op).flatMap(([, o]) => o.latenciesMs));
    case 'ttd_ms':
      return inputs.detections
        .filter((d) => (tags.fault === undefined || d.faultId === tags.fault) && (tags.detector === undefined || d.detector === tags.detector))
        .map((d) => d.ttdMs ?? Number.POSITIVE_INFINITY);
    case 'leader_election_ms':
      return inputs.faults.filter((f) => f.appliedAt !== null && (tags.fault === undefined || f.id === tags.fault)).map((f) => f.leaderChange?.afterMs ?? Number.POSITIVE_INFINITY);
    case 'elections_after_heal':
      return inputs.faults.filter((f) => f.healedAt !== null && (tags.fault === undefined || f.id === tags.fault)).map((f) => f.electionsAfterHeal ?? Number.NaN).filter((v) => !Number.isNaN(v));
    case 'recovery_ms':
      return inputs.faults.filter((f) => tags.fault === undefined || f.id === tags.fault).map((f) => f.recoveryMs ?? Number.POSITIVE_INFINITY);
    case 'lost_writes':
      return [loads.reduce((sum, l) => sum + l.lostWrites, 0)];
    case 'duplicated_messages':
      return [loads.reduce((sum, l) => sum + (l.messages?.duplicated ?? 0), 0)];
    case 'reordered_messages':
      return [loads.reduce((sum, l) => sum + (l.messages?.reordered ?? 0), 0)];
    case 'false_alarms':
      return [inputs.falseAlarms.filter((a) => tags.detector === undefined || a.detector === tags.detector).length];
    default:
      return [];
  }
}
