import { parseArgs } from 'node:util';
import { seriesLabel } from '../core/series.ts';
import { formatMs, parseDurationMs } from '../core/units.ts';
import { BARE_KINDS, DETECTOR_KINDS, benchCorpus, operationalCorpus, readNabCorpus, runDetectors, scoreAlarms, writeNabCorpus, type BareKind, type DetectorSpec, type PointScores } from '../detect/index.ts';
import { writeFileNoFollow } from '../core/files.ts';
import type { ScenarioCheck } from '../core/scenario.ts';
import { readSeriesImport, parseTimestamp, SeriesImportError, type Timestamp } from '../core/series-import.ts';
import { InvalidInputError } from '../core/errors.ts';

export class DetectUsageError extends InvalidInputError {
  override name = 'DetectUsageError';
}

/** `--rule` in the scenario's own form: `k/m` is `{ k, m }`, `consecutive:N` is `{ consecutive: N }`, `for:90s` is `{ for: 90s }`. */
function ruleDocument(text: string): unknown {
  if (text === 'breach') return 'breach';
  const consecutive = /^consecutive:(\d+)$/.exec(text);
  if (consecutive) return { consecutive: Number(consecutive[1]) };
  const held = /^for:(\S+)$/.exec(text);
  if (held) return { for: held[1] };
  const kOfM = /^(\d+)\/(\d+)$/.exec(text);
  if (kOfM) return { k: Number(kOfM[1]), m: Number(kOfM[2]) };
  throw new DetectUsageError(`--rule expects k/m (e.g. 3/5), consecutive:N, for:DURATION or breach, saw ${JSON.stringify(text)}`);
}

/** The flags that set a detector's own settings, and the scenario key each one sets. */
const SETTING_FLAGS = { level: 'level', threshold: 'threshold', alpha: 'alpha', consensus: 'consensus', period: 'periods' } as const;

export interface DetectorFlags {
  rule?: string | undefined;
  direction?: string | undefined;
  level?: string | undefined;
  threshold?: string | undefined;
  alpha?: string | undefined;
  consensus?: string | undefined;
  period?: string[] | undefined;
  mode?: 'fitted' | 'online' | undefined;
  window?: string | undefined;
  'refit-every'?: string | undefined;
  'adapt-after'?: string | undefined;
}

/**
 * The detector the flags describe, built by its kind's descriptor exactly as a scenario's
 * `baseline.detectors` entry would be: one grammar, one set of checks.
 */
export function detectorFromFlags(kind: string, flags: DetectorFlags, name?: string): DetectorSpec {
  if (!(BARE_KINDS as readonly string[]).includes(kind)) throw new DetectUsageError(`--detector expects ${BARE_KINDS.join(', ')}, saw ${JSON.stringify(kind)}`);
  const descriptor = DETECTOR_KINDS[kind as BareKind];
  const number = (flag: string, text: string) => {
    const value = Number(text);
    if (text.trim() === '' || !Number.isFinite(value)) throw new DetectUsageError(`--${flag} expects a number, saw ${JSON.stringify(text)}`);
    return value;
  };
  const settings: Record<string, unknown> = {};
  for (const [flag, key] of Object.entries(SETTING_FLAGS) as [keyof typeof SETTING_FLAGS, string][]) {
    const value = flags[flag];
    if (value === undefined) continue;
    if (flag === 'period') {
      // MSTL takes several seasons, ESD one
      if (kind === 'esd') {
        if ((value as string[]).length > 1) throw new DetectUsageError('--period: esd takes one season');
        settings.period = (value as string[])[0];
      } else {
        settings[key] = value;
      }
      continue;
    }
    settings[key] = flag === 'consensus' ? Math.round(number(flag, value as string)) : number(flag, value as string);
  }
  const online = flags.mode === 'online' ? {
    ...(flags.window === undefined ? {} : { window: flags.window }),
    ...(flags['refit-every'] === undefined ? {} : { refitEvery: Math.round(number('refit-every', flags['refit-every'])) }),
    ...(flags['adapt-after'] === undefined ? {} : { adaptAfter: flags['adapt-after'] }),
  } : undefined;
  if (flags.mode !== 'online' && (flags.window ?? flags['refit-every'] ?? flags['adapt-after']) !== undefined) throw new DetectUsageError('--window, --refit-every and --adapt-after apply to --mode online');
  const document = {
    kind, ...(name ? { name } : {}), ...settings,
    ...(flags.rule === undefined ? {} : { rule: ruleDocument(flags.rule) }),
    ...(flags.direction === undefined ? {} : { direction: flags.direction }),
    ...(flags.mode === 'online' ? { mode: 'online', ...(online && Object.keys(online).length ? { online } : {}) } : {}),
  };
  const flagOf = (key: PropertyKey | undefined) => {
    const entry = Object.entries(SETTING_FLAGS).find(([, k]) => k === key || (key === 'period' && k === 'periods'));
    if (entry) return entry[0];
    if (key === 'online') return 'mode';
    return String(key ?? 'detector');
  };
  const parsed = descriptor.schema.safeParse(document);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    if (issue.code === 'unrecognized_keys') throw new DetectUsageError(`--${flagOf(issue.keys[0])} does not apply to ${kind}`);
    throw new DetectUsageError(`--${flagOf(issue.path[0])}: ${issue.message}`);
  }
  const check: ScenarioCheck = {
    report: (path, message) => {
      throw new DetectUsageError(`--${path.includes('online') ? String(path[path.length - 1] ?? 'mode').replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`) : flagOf(path[0])}: ${message}`);
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

const DETECTOR_OPTIONS = {
  level: { type: 'string' },
  threshold: { type: 'string' },
  alpha: { type: 'string' },
  consensus: { type: 'string' },
  rule: { type: 'string' },
  direction: { type: 'string' },
  period: { type: 'string', multiple: true },
  window: { type: 'string' },
  'refit-every': { type: 'string' },
  'adapt-after': { type: 'string' },
} as const;

function modeOf(text: string | undefined): 'fitted' | 'online' | undefined {
  if (text === undefined || text === 'fitted' || text === 'online') return text;
  throw new DetectUsageError(`--mode expects fitted or online, saw ${JSON.stringify(text)}`);
}

/** Series longer than this are judged online unless `--mode fitted` says otherwise: a run lasts minutes, production series days. */
const ONLINE_FROM_MS = 86_400_000;

/**
 * `moat detect <series.csv|.json> --detector <kind>`: scores a standalone series (or every series
 * of a Prometheus range query) with labelled fault windows, so detectors can be judged on data
 * that did not come from a run. Timestamps in and out are as written in the input. Series that
 * span more than a day are judged online (`--mode`). `moat detect bench` and `moat detect corpus`
 * score detectors on a labelled corpus in NAB's layout.
 */
export async function detectCommand(args: string[]): Promise<number> {
  if (args[0] === 'bench') return detectBench(args.slice(1));
  if (args[0] === 'corpus') return detectCorpus(args.slice(1));
  const { values, positionals } = parseArgs({
    args, allowPositionals: true, strict: true,
    options: {
      detector: { type: 'string', default: 'robust-z' },
      'train-until': { type: 'string' },
      windows: { type: 'string' },
      json: { type: 'boolean', default: false },
      grace: { type: 'string', default: '0s' },
      mode: { type: 'string' },
      scores: { type: 'string' },
      ...DETECTOR_OPTIONS,
    },
  });
  if (positionals.length !== 1) throw new DetectUsageError('moat detect: expected one series file (.csv or Prometheus range-query .json), or `bench <corpus-dir>`, or `corpus <dir>`');
  const file = positionals[0]!;
  let imported;
  try {
    imported = readSeriesImport(file);
  } catch (error) {
    // the user named this file: show what was seen where it went wrong
    if (error instanceof SeriesImportError) throw new DetectUsageError(`moat detect: ${file}: ${error.quoted}`);
    throw error;
  }
  const span = Math.max(...imported.series.map((s) => (s.t.length ? s.t[s.t.length - 1]! - s.t[0]! : 0)));
  const mode = modeOf(values.mode) ?? (span > ONLINE_FROM_MS ? 'online' : 'fitted');
  const spec = detectorFromFlags(values.detector, { ...values, mode });
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

  const run = await runDetectors(imported.series, [spec], { trainUntil, epochMs: origin, ...(values.scores ? { scores: true } : {}) });
  const labels = imported.series.map(seriesLabel);
  const tokenOf = (series: string, t: number): Timestamp => {
    const index = labels.indexOf(series);
    const s = imported.series[index]!;
    const j = s.t.indexOf(t);
    return imported.tokens[index]![j]!;
  };
  if (values.scores) writeScores(values.scores, run.scores ?? [], (series, t) => String(tokenOf(series, t)));
  const scores = scoreAlarms({ faults: windows, alarms: run.alarms, detectors: [spec.name], series: labels, graceMs, judgedFrom: trainUntil, judgedUntil: lastT });
  const alarms = run.alarms.map((a) => ({ t: tokenOf(a.series, a.t), score: a.score, ...(labels.length > 1 ? { series: a.series } : {}) }));
  if (values.json) {
    process.stdout.write(JSON.stringify({
      detector: spec, trainUntil: values['train-until'] ?? null, alarms,
      detections: scores.detections.map((d) => ({ window: d.faultId, ttdMs: d.ttdMs, ...(d.alarm ? { alarm: tokenOf(d.alarm.series, d.alarm.t) } : {}) })),
      falseAlarms: scores.falseAlarms.map((a) => tokenOf(a.series, a.t)),
      scores: scores.detectors[0], errors: run.errors, mode,
      adaptations: run.adaptations.map((a) => ({ series: a.series, t: tokenOf(a.series, a.t), afterMs: a.afterMs })),
    }, null, 2) + '\n');
    return 0;
  }
  process.stdout.write(`${file}: ${imported.series.length} series, ${imported.series.reduce((n, s) => n + s.t.length, 0)} points; ${spec.kind} ${mode === 'online' ? `online (trailing ${formatMs(spec.online!.windowMs)}, at most ${spec.online!.maxPoints} points, refit every ${spec.online!.refitEvery}), starting from` : 'trained on'} points before ${new Date(origin + trainUntil).toISOString()}\n`);
  for (const a of run.adaptations) process.stdout.write(`adapted: ${a.series} took a new level as normal at ${tokenOf(a.series, a.t)}, ${formatMs(a.afterMs)} after its alarm began\n`);
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

/** Per-point scores as CSV (`series,timestamp,value,score,anomalous`) or, for a .json name, JSON. */
function writeScores(file: string, scores: readonly PointScores[], token: (series: string, t: number) => string): void {
  if (file.endsWith('.json')) {
    writeFileNoFollow(file, JSON.stringify(scores.map((s) => ({ detector: s.detector, series: s.series, points: Array.from(s.t, (t, i) => ({ t: token(s.series, t), value: s.v[i], score: Number(s.score[i]!.toFixed(6)), anomalous: s.anomalous[i] === 1 })) }))) + '\n');
    return;
  }
  const rows = ['series,timestamp,value,score,anomalous'];
  for (const s of scores) s.t.forEach((t, i) => rows.push(`${csvCell(s.series)},${csvCell(token(s.series, t))},${s.v[i]},${s.score[i]!.toFixed(6)},${s.anomalous[i]}`));
  writeFileNoFollow(file, rows.join('\n') + '\n');
}

function csvCell(text: string): string {
  return /[",\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/**
 * `moat detect bench <corpus-dir>`: every detector (or those named) over a labelled corpus in NAB's
 * layout, fitted once and online, with NAB's scoring (three profiles, and one threshold swept over
 * the corpus), detection rate, median delay and false alarms per day.
 */
async function detectBench(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args, allowPositionals: true, strict: true,
    options: { detector: { type: 'string', multiple: true }, mode: { type: 'string', default: 'both' }, json: { type: 'boolean', default: false } },
  });
  if (positionals.length !== 1) throw new DetectUsageError('moat detect bench: expected one corpus folder (data/<group>/<file>.csv and labels/combined_windows.json)');
  if (!['fitted', 'online', 'both'].includes(values.mode)) throw new DetectUsageError(`--mode expects fitted, online or both, saw ${JSON.stringify(values.mode)}`);
  const kinds = values.detector ?? ['robust-z', 'esd', 'knn', 'ensemble', 'mstl'];
  const modes = values.mode === 'both' ? ['fitted', 'online'] as const : [values.mode as 'fitted' | 'online'];
  const specs = kinds.flatMap((kind) => modes.map((mode) => detectorFromFlags(kind, { mode }, mode === 'online' ? `${kind}-online` : kind)));
  const files = readNabCorpus(positionals[0]!);
  const results = await benchCorpus(files, specs);
  if (values.json) {
    process.stdout.write(JSON.stringify({ corpus: positionals[0], files: files.length, results }, null, 2) + '\n');
    return 0;
  }
  process.stdout.write(`${positionals[0]}: ${files.length} files, ${files.reduce((n, f) => n + f.t.length, 0)} points, ${results[0]?.windows ?? 0} scored windows (NAB scoring, 0..100)\n`);
  process.stdout.write(`${'detector'.padEnd(18)} ${'mode'.padEnd(7)} ${'standard'.padStart(8)} ${'low FP'.padStart(8)} ${'low FN'.padStart(8)} ${'swept'.padStart(14)} ${'detected'.padStart(9)} ${'median delay'.padStart(13)} ${'FA/day'.padStart(7)} ${'points/s'.padStart(9)}\n`);
  for (const r of results) {
    process.stdout.write(`${r.detector.padEnd(18)} ${r.mode.padEnd(7)} ${r.nab.standard.toFixed(1).padStart(8)} ${r.nab.reward_low_fp.toFixed(1).padStart(8)} ${r.nab.reward_low_fn.toFixed(1).padStart(8)} ${`${r.swept.standard.toFixed(1)} @${r.swept.threshold}`.padStart(14)} ${`${r.detected}/${r.windows}`.padStart(9)} ${(r.medianDelayMs === null ? '-' : formatMs(r.medianDelayMs)).padStart(13)} ${r.falseAlarmsPerDay.toFixed(2).padStart(7)} ${Math.round(r.pointsPerSecond).toString().padStart(9)}\n`);
    for (const e of r.errors) process.stdout.write(`  error: ${e}\n`);
  }
  return 0;
}

/** `moat detect corpus <dir> [--seed N] [--files N]`: writes the generated operational corpus in NAB's layout. */
async function detectCorpus(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, strict: true, options: { seed: { type: 'string', default: '1' }, files: { type: 'string', default: '36' } } });
  if (positionals.length !== 1) throw new DetectUsageError('moat detect corpus: expected the folder to write');
  const seed = Number(values.seed);
  const count = Number(values.files);
  if (!Number.isInteger(seed) || seed < 0) throw new DetectUsageError(`--seed expects a non-negative integer, saw ${JSON.stringify(values.seed)}`);
  if (!Number.isInteger(count) || count < 1 || count > 1000) throw new DetectUsageError(`--files expects 1..1000, saw ${JSON.stringify(values.files)}`);
  const files = operationalCorpus(seed, count);
  writeNabCorpus(positionals[0]!, files);
  process.stdout.write(`${positionals[0]}: ${files.length} files, ${files.reduce((n, f) => n + f.windows.length, 0)} labelled anomalies (seed ${seed})\n`);
  return 0;
}
