import { aggregate, compare, type Aggregation } from '../core/thresholds.ts';
import type { Series } from '../core/series.ts';
import type { Detection, Alarm } from '../core/detection.ts';
import type { AlertDetection, AlertEpisodeRecord, AlertsRecord, Diagnosis, FaultRecord, GateResult, LeaderChangeEvent, LoadSummary, TimelineEvent } from '../core/journal.ts';
import type { GateSpec } from './scenario/index.ts';
import { GATE_METRICS } from './scenario/index.ts';
import { LatencyHistogram, type LoadResult } from '../load/index.ts';
import type { AlertsSpec, Scenario } from '../core/scenario.ts';
import type { Journal } from '../core/journal.ts';
import { matchesSeries, seriesLabel } from '../core/series.ts';
import { runDetectors, scoreAlarms, splitAt, earlierWarmups, loadImports, trainingFor } from '../detect/index.ts';
import { serviceKindOf } from '../twin/index.ts';
import { diagnoseRun } from '../diagnose/index.ts';
import type { RunContext } from './context.ts';

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
  for (const [op, { requests, errors, latency }] of Object.entries(result.byOp)) {
    byOp[op] = {
      requests, errors,
      p50Ms: latency.count ? latency.percentile(50) : null,
      p99Ms: latency.count ? latency.percentile(99) : null,
      maxMs: latency.count ? latency.maxMs : null,
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
  alerts?: AlertsRecord;
  diagnosis?: Diagnosis;
}

/**
 * Evaluates every gate threshold. A missed detection counts as an infinite TTD and a fault that
 * never recovered as an infinite recovery, so a `max < N` gate fails on them.
 */
export function evaluateGates(gates: readonly GateSpec[], inputs: GateInputs): GateResult[] {
  const results: GateResult[] = [];
  for (const gate of gates) {
    const { metric, tags } = gate.selector;
    // latencies are HDR histograms (per op, per load): a gate reads the merged one
    const histogram = metric === 'latency_ms' ? latencyOf(tags, inputs) : undefined;
    const values = histogram ? { length: histogram.count } : metricValues(metric, tags, inputs);
    for (const threshold of gate.thresholds) {
      const scale = threshold.percent && GATE_METRICS[metric]?.ratio ? 0.01 : 1;
      const expected = threshold.value * scale;
      const actual = histogram ? aggregateHistogram(histogram, threshold.aggregation) : aggregate(values as number[], threshold.aggregation);
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

/** The per-fault rows of the alert rules a gate names, for the faults each claims to cover. */
function alertDetections(inputs: GateInputs, tags: Record<string, string>): AlertDetection[] {
  return (inputs.alerts?.detections ?? []).filter((d) => (tags.alert === undefined || d.alert === tags.alert) && (tags.fault === undefined || d.faultId === tags.fault) && (d.covers || tags.fault !== undefined));
}

/** The localizer's verdicts on the faults a gate names. */
function diagnosed(inputs: GateInputs, tags: Record<string, string>): Diagnosis['faults'] {
  return (inputs.diagnosis?.faults ?? []).filter((d) => tags.fault === undefined || d.faultId === tags.fault);
}

function formatValue(value: number, ratio: boolean): string {
  if (!Number.isFinite(value)) return String(value);
  return ratio ? `${(value * 100).toFixed(3)}%` : String(Math.round(value * 1000) / 1000);
}

/** Every latency a `latency_ms{load,op}` gate names, in one histogram. */
function latencyOf(tags: Record<string, string>, inputs: GateInputs): LatencyHistogram {
  const merged = new LatencyHistogram();
  for (const load of inputs.loads) {
    if (tags.load !== undefined && load.name !== tags.load) continue;
    for (const [op, o] of Object.entries(load.byOp)) if (tags.op === undefined || op === tags.op) merged.add(o.latency);
  }
  return merged;
}

/** A threshold's aggregation over a latency histogram (k6's names: avg, min, max, med, p(N), count). */
function aggregateHistogram(h: LatencyHistogram, aggregation: Aggregation): number {
  if (h.count === 0) return aggregation.kind === 'count' ? 0 : Number.NaN;
  switch (aggregation.kind) {
    case 'count': return h.count;
    case 'avg': case 'rate': return h.meanMs;
    case 'min': return h.minMs;
    case 'max': case 'value': return h.maxMs;
    case 'med': return h.percentile(50);
    case 'percentile': return h.percentile(aggregation.percentile);
  }
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
    case 'breakpoint_rps':
      return loads.filter((l) => l.breakpoint !== undefined).flatMap((l) => (l.breakpoint ? [l.breakpoint.ratePerSec] : (l.generator?.saturatedSeconds ?? 0) > 0 ? [] : [Number.POSITIVE_INFINITY]));
    case 'generator_saturated_seconds':
      return loads.filter((l) => l.generator).map((l) => l.generator!.saturatedSeconds);
    case 'lost_writes':
      return [loads.reduce((sum, l) => sum + l.lostWrites, 0)];
    case 'duplicated_messages':
      return [loads.reduce((sum, l) => sum + (l.messages?.duplicated ?? 0), 0)];
    case 'reordered_messages':
      return [loads.reduce((sum, l) => sum + (l.messages?.reordered ?? 0), 0)];
    case 'false_alarms':
      // moat's detectors; a team's rules have alert_false_alarms
      return [inputs.falseAlarms.filter((a) => (tags.detector === undefined ? !a.detector.startsWith('alert:') : a.detector === tags.detector)).length];
    case 'alert_ttd_ms':
      return alertDetections(inputs, tags).map((d) => d.ttdMs ?? Number.POSITIVE_INFINITY);
    case 'alert_pending_ms':
      return alertDetections(inputs, tags).map((d) => d.pendingMs ?? Number.POSITIVE_INFINITY);
    case 'alert_notified_ms':
      return alertDetections(inputs, tags).map((d) => d.notifiedMs ?? Number.POSITIVE_INFINITY);
    case 'alerts_blind':
      return inputs.alerts ? [inputs.alerts.blind.length] : [];
    case 'alert_false_alarms':
      return inputs.alerts ? [inputs.falseAlarms.filter((a) => a.detector.startsWith('alert:') && (tags.alert === undefined || a.detector === alertDetector(tags.alert))).length] : [];
    case 'alert_unpaged_faults':
      return inputs.alerts ? [inputs.alerts.unpaged.length] : [];
    case 'ttl_ms':
      return diagnosed(inputs, tags).map((d) => d.ttlMs ?? Number.POSITIVE_INFINITY);
    case 'localization_top1':
      return diagnosed(inputs, tags).map((d) => (d.top1 ? 1 : 0));
    case 'localization_top3':
      return diagnosed(inputs, tags).map((d) => (d.top3 ? 1 : 0));
    default:
      return [];
  }
}

/** The series every load writes that detectors watch by default (besides each service kind's key series). */
const LOAD_KEY_SERIES = ['load_error_ratio', 'load_latency_p99_ms'];

/** Which series the detectors watch: the scenario's patterns, or the key series of its loads and service kinds. */
function watchedBy(scenario: Scenario): (series: Series) => boolean {
  if (scenario.baseline.series) {
    const patterns = scenario.baseline.series;
    return (series) => patterns.some((p) => matchesSeries(series, p));
  }
  const keys = new Set([...LOAD_KEY_SERIES, ...scenario.twin.services.flatMap((s) => serviceKindOf(s).keySeries)]);
  return (series) => keys.has(series.name) && (series.labels.op === undefined || series.labels.op === 'all');
}

/**
 * After teardown, from what the run recorded: detection on the watched series (trained on the
 * warm-up, earlier runs or imports), TTD and false alarms against the fault windows, the new leader
 * and recovery of each fault, load totals, gates and the verdict. It needs no twin.
 */
export async function analyze(run: RunContext): Promise<void> {
  const { journal, scenario } = run;
  const all = run.store.snapshot();
  journal.series.count = all.length;
  const watchedSeries = all.filter(watchedBy(scenario));
  journal.series.watched = watchedSeries.map(seriesLabel);
  const warmupEndsAt = journal.warmupEndsAt;
  // the first seconds after start carry connection set-up noise: train on the rest of the warm-up
  const trainFrom = Math.min(5000, warmupEndsAt / 4);
  const { sources } = scenario.baseline;
  const earlier = sources.runs ? earlierWarmups(sources.runs.dir, scenario.name, sources.runs.last, trainFrom) : [];
  const imports = sources.imports ? loadImports(sources.imports) : [];
  const history = (s: Series): Series | undefined => {
    const own = splitAt(splitAt(s, warmupEndsAt).train, trainFrom).test;
    const found = trainingFor(s, own, earlier, imports, warmupEndsAt);
    if (found) journal.baselineSources.push(found.source);
    return found?.train;
  };
  const detection = await runDetectors(watchedSeries, scenario.baseline.detectors, {
    trainUntil: warmupEndsAt, trainFrom, epochMs: journal.clockZero ? Date.parse(journal.clockZero) : Date.parse(journal.startedAt), companions: all,
    ...(earlier.length > 0 || imports.length > 0 ? { history } : {}),
  });
  journal.alarms = detection.alarms;
  journal.detectorErrors = detection.errors;
  if (detection.adaptations.length > 0) journal.detectorAdaptations = detection.adaptations;
  for (const alarm of journal.alarms) journal.timeline.push({ t: alarm.t, kind: 'alarm', detail: `${alarm.detector} on ${alarm.series} (score ${alarm.score.toFixed(2)})` });
  journal.timeline.sort((a, b) => a.t - b.t);

  const lastT = Math.max(warmupEndsAt, ...all.map((s) => s.t[s.t.length - 1] ?? 0));
  const windows = journal.faults.filter((f) => f.appliedAt !== null).map((f) => ({ id: f.id, appliedAt: f.appliedAt!, healedAt: f.healedAt ?? lastT }));
  const scores = scoreAlarms({ faults: windows, alarms: journal.alarms, detectors: journal.detectors, series: journal.series.watched, graceMs: journal.graceMs, judgedFrom: warmupEndsAt, judgedUntil: lastT });
  journal.detections = scores.detections;
  journal.seriesDetections = scores.seriesDetections;
  journal.falseAlarms = scores.falseAlarms;
  journal.detectorScores = scores.detectors;
  for (const detection of journal.detections) {
    run.trace.start(`detect ${detection.faultId} ${detection.detector}`, {
      'moat.fault.id': detection.faultId, 'moat.detector': detection.detector, 'moat.detected': detection.ttdMs !== null,
      ...(detection.ttdMs === null ? {} : { 'moat.ttd_ms': detection.ttdMs, 'moat.series': detection.series ?? '' }),
    }).end();
  }

  const errorSeries = all.filter((s) => s.name === 'load_error_ratio' && s.labels.op === 'all');
  for (const fault of journal.faults) {
    if (fault.appliedAt === null || fault.service === undefined) continue;
    const service = scenario.twin.services.find((s) => s.name === fault.service);
    const change = firstLeaderChange(journal.timeline, fault.appliedAt, fault.service);
    if (change) fault.leaderChange = change;
    if (fault.healedAt === null) continue;
    if (service && service.replicas > 1) fault.electionsAfterHeal = electionsAfterHeal(journal.timeline, fault.healedAt, lastT, fault.service);
    const agreedAt = run.leaderAgreedAt.find((a) => a.t >= fault.healedAt! && a.agreed)?.t ?? null;
    fault.recoveryMs = recoveryAfter(fault.healedAt, errorSeries, warmupEndsAt, agreedAt);
  }
  if (journal.alerts && scenario.alerts) analyzeAlerts(run, windows, lastT);
  // where each fault was, ranked from the same series, and scored against where it really was
  journal.diagnosis = diagnoseRun(journal, all);
  journal.load = run.loadResults.map(summarizeLoad);
  journal.gates = evaluateGates(scenario.gates, { loads: run.loadResults, faults: journal.faults, detections: journal.detections, falseAlarms: journal.falseAlarms, detectors: journal.detectors, ...(journal.alerts ? { alerts: journal.alerts } : {}), diagnosis: journal.diagnosis });
  journal.verdict = verdictOf(journal);
}

/** The detector name an alert rule is scored under, beside moat's own. */
export function alertDetector(alert: string): string {
  return `alert:${alert}`;
}

/** What scoring a team's alert rules needs: their episodes, the faults, and moat's own detections to compare with. */
export interface AlertScoringInputs {
  spec: Pick<AlertsSpec, 'rules' | 'covers'>;
  episodes: readonly AlertEpisodeRecord[];
  windows: readonly { id: string; appliedAt: number; healedAt: number }[];
  faults: readonly Pick<FaultRecord, 'id' | 'type'>[];
  graceMs: number;
  lastT: number;
  /** moat's own detections, for the ratio to the best of them on each fault */
  moatDetections: readonly Detection[];
  notifications: readonly { alert: string; status: 'firing' | 'resolved'; t: number }[];
}

/**
 * A team's alert rules, scored like detectors: each firing episode's first firing evaluation is an
 * alarm of `alert:<name>`, judged from t = 0 (a rule that fires in steady state is a false alarm),
 * and the TTD, pending time and page time of each rule are kept per fault, with its ratio to the
 * best of moat's own detectors on that fault. A rule is blind when it fired for none of the faults
 * it claims to cover; a fault is unpaged when no rule fired for it. Pure: the live run and
 * `moat alerts replay` score the same way.
 */
export function scoreAlerts(inputs: AlertScoringInputs): { alarms: Alarm[]; scores: ReturnType<typeof scoreAlarms>; detections: AlertDetection[]; blind: string[]; unpaged: string[]; detectors: string[] } {
  const { spec, windows, graceMs } = inputs;
  const names = [...new Set(spec.rules.map((r) => r.name))];
  const label = (e: { alert: string; labels: Record<string, string> }) => seriesLabel({ name: 'ALERTS', labels: { ...e.labels, alertname: e.alert } });
  const alarms = inputs.episodes.filter((e) => e.firingAt !== null).map((e) => ({ detector: alertDetector(e.alert), series: label(e), t: e.firingAt!, score: 1 }));
  const scores = scoreAlarms({ faults: windows, alarms, detectors: names.map(alertDetector), series: [...new Set(alarms.map((a) => a.series))], graceMs, judgedFrom: 0, judgedUntil: inputs.lastT });
  const covers = (alert: string, fault: { id: string; type: string }) => {
    const claims = [...(spec.covers[alert] ?? []), ...(spec.rules.find((r) => r.name === alert)?.annotations.covers ?? '').split(',').map((c) => c.trim()).filter(Boolean)];
    return claims.length === 0 || claims.includes(fault.type) || claims.includes(fault.id);
  };
  const inWindow = (t: number, w: { appliedAt: number; healedAt: number }) => t >= w.appliedAt && t <= w.healedAt + graceMs;
  const detections = windows.flatMap((window) => {
    const fault = inputs.faults.find((f) => f.id === window.id) ?? { id: window.id, type: '' };
    const moatBest = Math.min(...inputs.moatDetections.filter((d) => d.faultId === window.id && d.ttdMs !== null).map((d) => d.ttdMs!));
    return names.map((alert): AlertDetection => {
      const ttdMs = scores.detections.find((d) => d.faultId === window.id && d.detector === alertDetector(alert))?.ttdMs ?? null;
      const pending = inputs.episodes.filter((e) => e.alert === alert && inWindow(e.pendingAt, window)).map((e) => e.pendingAt).sort((a, b) => a - b)[0];
      const notified = inputs.notifications.filter((n) => n.alert === alert && n.status === 'firing' && inWindow(n.t, window)).map((n) => n.t).sort((a, b) => a - b)[0];
      return {
        faultId: window.id, alert, covers: covers(alert, fault),
        pendingMs: pending === undefined ? null : pending - window.appliedAt, ttdMs,
        notifiedMs: notified === undefined ? null : notified - window.appliedAt,
        ratioToBest: ttdMs === null || !Number.isFinite(moatBest) ? null : ttdMs / Math.max(moatBest, 1),
      };
    });
  });
  const blind = names.filter((alert) => !detections.some((d) => d.alert === alert && d.covers && d.ttdMs !== null));
  const unpaged = windows.map((w) => w.id).filter((id) => !detections.some((d) => d.faultId === id && d.ttdMs !== null));
  return { alarms, scores, detections, blind, unpaged, detectors: names.map(alertDetector) };
}

/** The team's alert rules in a live run: scored, then joined to the journal beside moat's detectors. */
function analyzeAlerts(run: RunContext, windows: readonly { id: string; appliedAt: number; healedAt: number }[], lastT: number): void {
  const { journal } = run;
  const record = journal.alerts!;
  const result = scoreAlerts({
    spec: run.scenario.alerts!, episodes: record.episodes, windows, faults: journal.faults, graceMs: journal.graceMs, lastT,
    moatDetections: journal.detections, notifications: run.alertNotifications,
  });
  journal.detectors.push(...result.detectors);
  journal.alarms.push(...result.alarms);
  journal.detections.push(...result.scores.detections);
  journal.seriesDetections.push(...result.scores.seriesDetections);
  journal.falseAlarms.push(...result.scores.falseAlarms);
  journal.detectorScores.push(...result.scores.detectors);
  for (const alarm of result.alarms) journal.timeline.push({ t: alarm.t, kind: 'alarm', detail: `${alarm.detector} firing (${alarm.series})` });
  journal.timeline.sort((a, b) => a.t - b.t);
  record.detections = result.detections;
  record.blind = result.blind;
  record.unpaged = result.unpaged;
}

/** Passed only when the run completed, every fault was applied, verified and healed, the read-back worked, every gate held and nothing was left behind. */
export function verdictOf(journal: Journal): Journal['verdict'] {
  const reasons: string[] = [];
  if (journal.status !== 'completed') reasons.push(`run ${journal.status}${journal.error ? `: ${journal.error}` : ''}`);
  for (const fault of journal.faults) {
    if (fault.appliedAt === null) reasons.push(`fault ${fault.id} was never applied`);
    else if (!fault.verified.ok) reasons.push(`fault ${fault.id} was not verified to take effect`);
    if (fault.appliedAt !== null && fault.healedAt === null) reasons.push(`fault ${fault.id} was not healed`);
  }
  for (const load of journal.load) if (load.readBackError) reasons.push(`load ${load.name}: acknowledged writes could not be read back (${load.readBackError})`);
  for (const gate of journal.gates) if (!gate.ok) reasons.push(`gate failed: ${gate.detail}`);
  if (!journal.cleanup.ok) reasons.push(`cleanup left resources behind: ${journal.cleanup.leftovers.join('; ')}`);
  return { passed: reasons.length === 0, reasons };
}
