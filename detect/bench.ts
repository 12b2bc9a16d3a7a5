import type { DetectorSpec } from '../core/scenario.ts';
import type { Series } from '../core/series.ts';
import { runDetectors } from './run.ts';
import { normalizeNab, NAB_APPLICATION_PROFILES, probationaryLength, scoreNabFile, type NabProfileName } from './nab.ts';
import { firstIndexAtOrAfter, type CorpusFile } from './nab-corpus.ts';
import { applyRule } from './rules.ts';

/** One detector's results over a labelled corpus. */
export interface CorpusResult {
  detector: string;
  kind: string;
  mode: 'fitted' | 'online';
  /** NAB scores normalised to 0..100 with the detector's own settings, per profile */
  nab: Record<NabProfileName, number>;
  /** the best standard score with one score threshold for the whole corpus, and that threshold */
  swept: { threshold: number; standard: number };
  windows: number;
  detected: number;
  detectionRate: number;
  /** median from each labelled onset (or window start) to the first alarm in its window, ms */
  medianDelayMs: number | null;
  falseAlarms: number;
  falseAlarmsPerDay: number;
  /** online only: how often a level that stayed became the baseline */
  adaptations: number;
  errors: string[];
  /** judged points per second of wall time, fits included */
  pointsPerSecond: number;
}

/** Score thresholds tried by the sweep (0.5 is every detector's own threshold). */
export const SWEEP_THRESHOLDS = Array.from({ length: 48 }, (_, i) => Math.round((0.03 + i * 0.02) * 1000) / 1000).concat(0.5).sort((a, b) => a - b);

/**
 * Runs each detector over every file of a corpus and scores its alarms the way NAB scores
 * detections. Each file trains on its probationary period (15%, at most 750 points), as NAB
 * prescribes; a fitted detector then judges the rest with that model, an online one keeps
 * refitting. A detector's raw anomalous points go through its alarm rule first, as in a run, so
 * a detection is an alarm. The sweep rethresholds the scores each detector produced at its own
 * settings (for online detectors, the window kept the points those settings admitted).
 */
export async function benchCorpus(files: readonly CorpusFile[], specs: readonly DetectorSpec[], options: { threads?: number } = {}): Promise<CorpusResult[]> {
  const results: CorpusResult[] = [];
  for (const spec of specs) {
    const started = performance.now();
    const perFile: { file: CorpusFile; alarms: number[]; score: Float64Array; anomalous: Uint8Array; offset: number }[] = [];
    let adaptations = 0;
    const errors: string[] = [];
    let judged = 0;
    for (const file of files) {
      const origin = file.t[0]!;
      const series: Series = { name: 'value', labels: { file: file.name }, t: file.t.map((x) => x - origin), v: file.v };
      const probation = probationaryLength(file.t.length);
      const trainUntil = series.t[Math.min(series.t.length - 1, probation)]!;
      const run = await runDetectors([series], [spec], { trainUntil, epochMs: origin, scores: true, ...(options.threads ? { threads: options.threads } : {}) });
      errors.push(...run.errors.map((e) => `${file.name}: ${e.error}`));
      adaptations += run.adaptations.length;
      const scores = run.scores?.[0];
      const offset = series.t.length - (scores?.t.length ?? 0);
      judged += scores?.t.length ?? 0;
      const alarms = run.alarms.map((a) => firstIndexAtOrAfter(series.t, a.t));
      perFile.push({ file, alarms, score: scores?.score ?? new Float64Array(0), anomalous: scores?.anomalous ?? new Uint8Array(0), offset });
    }
    const seconds = (performance.now() - started) / 1000;
    const nab = {} as Record<NabProfileName, number>;
    for (const [name, profile] of Object.entries(NAB_APPLICATION_PROFILES) as [NabProfileName, (typeof NAB_APPLICATION_PROFILES)[NabProfileName]][]) {
      let raw = 0;
      let windows = 0;
      for (const f of perFile) {
        const score = scoreNabFile(f.file.t.length, f.file.windows, f.alarms, profile);
        raw += score.raw;
        windows += score.windows;
      }
      nab[name] = normalizeNab(raw, windows, profile);
    }
    // one threshold for the whole corpus: the alarms the rule raises on the points above it
    const rule = spec.rule ?? { kind: 'breach' as const };
    let swept = { threshold: 0.5, standard: nab.standard };
    for (const threshold of SWEEP_THRESHOLDS) {
      let raw = 0;
      let windows = 0;
      for (const f of perFile) {
        const flags = Array.from(f.score, (x) => x > threshold);
        const alarms = applyRule(flags, rule, f.file.t.subarray(f.offset)).map((i) => i + f.offset);
        const score = scoreNabFile(f.file.t.length, f.file.windows, alarms, NAB_APPLICATION_PROFILES.standard);
        raw += score.raw;
        windows += score.windows;
      }
      const standard = normalizeNab(raw, windows, NAB_APPLICATION_PROFILES.standard);
      if (standard > swept.standard) swept = { threshold, standard };
    }
    // detection rate, delay and false alarms with the detector's own settings
    let windows = 0;
    let detected = 0;
    let falseAlarms = 0;
    let judgedMs = 0;
    const delays: number[] = [];
    for (const f of perFile) {
      const score = scoreNabFile(f.file.t.length, f.file.windows, f.alarms, NAB_APPLICATION_PROFILES.standard);
      windows += score.windows;
      detected += score.detected;
      falseAlarms += score.falsePositives;
      const probation = probationaryLength(f.file.t.length);
      judgedMs += f.file.t[f.file.t.length - 1]! - f.file.t[Math.min(f.file.t.length - 1, probation)]!;
      const scored = [...f.file.windows].sort((a, b) => a.from - b.from).filter((w) => w.from >= probation);
      score.firstDetections.forEach((first, w) => {
        if (first === null) return;
        const window = scored[w]!;
        const onset = f.file.onsets.find((o) => o >= window.from && o <= window.to) ?? window.from;
        delays.push(Math.max(0, f.file.t[first]! - f.file.t[onset]!));
      });
    }
    delays.sort((a, b) => a - b);
    results.push({
      detector: spec.name, kind: spec.kind, mode: spec.online ? 'online' : 'fitted', nab, swept, windows, detected,
      detectionRate: windows ? detected / windows : 0,
      medianDelayMs: delays.length ? delays[delays.length >> 1]! : null,
      falseAlarms, falseAlarmsPerDay: judgedMs > 0 ? falseAlarms / (judgedMs / 86_400_000) : 0,
      adaptations, errors: [...new Set(errors)].slice(0, 10), pointsPerSecond: judged / Math.max(seconds, 1e-9),
    });
  }
  return results;
}
