import { parseArgs } from 'node:util';
import { seriesLabel } from '../core/series.ts';
import { parseDurationMs } from '../core/units.ts';
import { DETECTOR_KINDS, runDetectors, scoreAlarms, type DetectorSpec } from '../detect/index.ts';
import type { ScenarioCheck } from '../core/scenario.ts';
import { readSeriesImport, parseTimestamp, SeriesImportError, type Timestamp } from '../core/series-import.ts';
import { InvalidInputError } from '../core/errors.ts';

export class DetectUsageError extends InvalidInputError {
  override name = 'DetectUsageError';
}

/** `--rule` in the scenario's own form: `k/m` is `{ k, m }`, `consecutive:N` is `{ consecutive: N }`. */
function ruleDocument(text: string): unknown {
  if (text === 'breach') return 'breach';
  const consecutive = /^consecutive:(\d+)$/.exec(text);
  if (consecutive) return { consecutive: Number(consecutive[1]) };
  const kOfM = /^(\d+)\/(\d+)$/.exec(text);
  if (kOfM) return { k: Number(kOfM[1]), m: Number(kOfM[2]) };
  throw new DetectUsageError(`--rule expects k/m (e.g. 3/5), consecutive:N or breach, saw ${JSON.stringify(text)}`);
}

/**
 * The detector the flags describe, built by its kind's descriptor exactly as a scenario's
 * `baseline.detectors` entry would be: one grammar, one set of checks.
 */
function detectorFromFlags(kind: string, flags: { rule?: string | undefined; direction?: string | undefined; level?: string | undefined; threshold?: string | undefined; period?: string[] | undefined }): DetectorSpec {
  if (!Object.hasOwn(DETECTOR_KINDS, kind) || kind === 'static' || kind === 'adaptive') throw new DetectUsageError(`--detector expects robust-z, mstl or prophet, saw ${JSON.stringify(kind)}`);
  const descriptor = DETECTOR_KINDS[kind as 'robust-z'];
  if (flags.level !== undefined && kind === 'robust-z') throw new DetectUsageError('--level applies to mstl and prophet');
  if (flags.threshold !== undefined && kind !== 'robust-z') throw new DetectUsageError('--threshold applies to robust-z');
  if (flags.period !== undefined && kind !== 'mstl') throw new DetectUsageError('--period applies to mstl');
  const document = {
    kind,
    ...(flags.rule === undefined ? {} : { rule: ruleDocument(flags.rule) }),
    ...(flags.direction === undefined ? {} : { direction: flags.direction }),
    ...(flags.level === undefined ? {} : { level: Number(flags.level) }),
    ...(flags.threshold === undefined ? {} : { threshold: Number(flags.threshold) }),
    ...(flags.period === undefined ? {} : { periods: flags.period }),
  };
  const parsed = descriptor.schema.safeParse(document);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new DetectUsageError(`--${issue.path[0] === 'periods' ? 'period' : String(issue.path[0] ?? 'detector')}: ${issue.message}`);
  }
  const check: ScenarioCheck = {
    report: (path, message) => {
      throw new DetectUsageError(`--${path[0] === 'periods' ? 'period' : String(path[0] ?? 'detector')}: ${message}`);
    },
    duration: (text, path) => {
      const ms = parseDurationMs(text);
      if (ms === undefined || ms <= 0) check.report(path, `expected a duration such as 1h or 1d, saw ${JSON.stringify(text)}`);
      return ms ?? Number.NaN;
    },
    rate: () => Number.NaN,
    file: () => undefined,
    target: (source) => ({ kind: 'member', service: '', member: source, source }),
    services: new Map(),
  };
  return descriptor.build(parsed.data, [], check);
}

function toMs(token: string, what: string): number {
  const ms = parseTimestamp(token);
  if (ms === undefined) throw new DetectUsageError(`${what} expects a timestamp as in the input (epoch seconds, ms or ISO 8601), saw ${JSON.stringify(token)}`);
  return ms;
}

/**
 * `moat detect <series.csv|.json> --detector <kind>`: scores a standalone series (or every series
 * of a Prometheus range query) with labelled fault windows, so detectors can be judged on data
 * that did not come from a run. Timestamps in and out are as written in the input.
 */
export async function detectCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args, allowPositionals: true, strict: true,
    options: {
      detector: { type: 'string', default: 'robust-z' },
      'train-until': { type: 'string' },
      windows: { type: 'string' },
      json: { type: 'boolean', default: false },
      level: { type: 'string' },
      threshold: { type: 'string' },
      rule: { type: 'string' },
      direction: { type: 'string' },
      period: { type: 'string', multiple: true },
      grace: { type: 'string', default: '0s' },
    },
  });
  if (positionals.length !== 1) throw new DetectUsageError('moat detect: expected one series file (.csv or Prometheus range-query .json)');
  const file = positionals[0]!;
  let imported;
  try {
    imported = readSeriesImport(file);
  } catch (error) {
    // the user named this file: show what was seen where it went wrong
    if (error instanceof SeriesImportError) throw new DetectUsageError(`moat detect: ${file}: ${error.quoted}`);
    throw error;
  }
  const spec = detectorFromFlags(values.detector, { rule: values.rule, direction: values.direction, level: values.level, threshold: values.threshold, period: values.period });
  const graceMs = parseDurationMs(values.grace);
  if (graceMs === undefined) throw new DetectUsageError(`--grace expects a duration, saw ${JSON.stringify(values.grace)}`);

  const origin = imported.originMs;
  const windows = (values.windows ?? '').split(',').filter(Boolean).map((w, i) => {
    const [from, to, ...rest] = w.split('..');
    if (!from || !to || rest.length) throw new DetectUsageError(`--windows expects a..b[,c..d], saw ${JSON.stringify(w)}`);
    const appliedAt = toMs(from, '--windows') - origin;
    const healedAt = toMs(to, '--windows') - origin;
    if (healedAt < appliedAt) throw new DetectUsageError(`--windows: ${w} ends before it starts`);
    return { id: `window-${i + 1}`, appliedAt, healedAt };
  });
  const lastT = Math.max(...imported.series.map((s) => s.t[s.t.length - 1] ?? 0));
  const trainUntil = values['train-until'] !== undefined ? toMs(values['train-until'], '--train-until') - origin
    : windows.length > 0 ? Math.min(...windows.map((w) => w.appliedAt)) : lastT / 2;
  if (windows.some((w) => w.appliedAt < trainUntil)) throw new DetectUsageError('--windows: a window starts before --train-until; a model never judges the points it was fitted on');

  const run = await runDetectors(imported.series, [spec], { trainUntil, epochMs: origin });
  const labels = imported.series.map(seriesLabel);
  const tokenOf = (series: string, t: number): Timestamp => {
    const index = labels.indexOf(series);
    const s = imported.series[index]!;
    const j = s.t.indexOf(t);
    return imported.tokens[index]![j]!;
  };
  const scores = scoreAlarms({ faults: windows, alarms: run.alarms, detectors: [spec.name], series: labels, graceMs, judgedFrom: trainUntil, judgedUntil: lastT });
  const alarms = run.alarms.map((a) => ({ t: tokenOf(a.series, a.t), score: a.score, ...(labels.length > 1 ? { series: a.series } : {}) }));
  if (values.json) {
    process.stdout.write(JSON.stringify({
      detector: spec, trainUntil: values['train-until'] ?? null, alarms,
      detections: scores.detections.map((d) => ({ window: d.faultId, ttdMs: d.ttdMs, ...(d.alarm ? { alarm: tokenOf(d.alarm.series, d.alarm.t) } : {}) })),
      falseAlarms: scores.falseAlarms.map((a) => tokenOf(a.series, a.t)),
      scores: scores.detectors[0], errors: run.errors,
    }, null, 2) + '\n');
    return 0;
  }
  process.stdout.write(`${file}: ${imported.series.length} series, ${imported.series.reduce((n, s) => n + s.t.length, 0)} points; ${spec.kind} trained on points before ${new Date(origin + trainUntil).toISOString()}\n`);
  for (const error of run.errors) process.stdout.write(`error: ${error.series}: ${error.error}\n`);
  process.stdout.write(`${alarms.length} alarm${alarms.length === 1 ? '' : 's'}\n`);
  for (const alarm of alarms) process.stdout.write(`  ${alarm.t}  score ${alarm.score.toFixed(2)}${alarm.series ? `  ${alarm.series}` : ''}\n`);
  if (windows.length > 0) {
    const d = scores.detectors[0]!;
    for (const detection of scores.detections) process.stdout.write(`  ${detection.faultId}: ${detection.ttdMs === null ? 'MISS' : `TTD ${Math.round(detection.ttdMs)} ms`}\n`);
    process.stdout.write(`detected ${d.detected}/${d.faults}, median TTD ${d.medianTtdMs === null ? '-' : `${Math.round(d.medianTtdMs)} ms`}, false alarms ${d.falseAlarms} (${d.falseAlarmsPerHour.toFixed(2)}/h), NAB standard ${d.nabNormalized.standard.toFixed(1)}/100\n`);
  }
  return 0;
}
