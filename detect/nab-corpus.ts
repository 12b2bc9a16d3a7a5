import { mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import { InvalidInputError } from '../core/errors.ts';
import { readRegularFile } from '../core/files.ts';
import { SeededRandom } from '../core/random.ts';
import type { IndexWindow } from './nab.ts';

/**
 * Labelled corpora in the layout of the Numenta Anomaly Benchmark: `data/<group>/<file>.csv`
 * with `timestamp,value` rows (timestamps `YYYY-MM-DD HH:MM:SS`, UTC), `labels/combined_windows.json`
 * mapping `<group>/<file>.csv` to its anomaly windows `[[start, end], ...]`, and optionally
 * `labels/combined_labels.json` mapping it to the anomalies' own timestamps (the onsets, from
 * which delays are measured; without it, from the window's start).
 */
export interface CorpusFile {
  /** `<group>/<file>.csv` */
  name: string;
  t: Float64Array;
  v: Float64Array;
  windows: IndexWindow[];
  /** indices of the labelled anomalies (onsets), when the corpus has them */
  onsets: number[];
}

/** Limits on what a corpus may hold: it comes from outside. */
export const CORPUS_LIMITS = { files: 5000, fileBytes: 64 * 1024 * 1024, labelBytes: 16 * 1024 * 1024 };

const NAB_TIME = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(\.\d+)?Z?$/;

/** A NAB timestamp (UTC) as epoch ms. */
export function parseNabTime(text: string): number | undefined {
  const m = NAB_TIME.exec(text.trim());
  if (!m) return undefined;
  const ms = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]), m[7] ? Math.round(Number(m[7]) * 1000) : 0);
  return Number.isFinite(ms) ? ms : undefined;
}

export function formatNabTime(ms: number, fraction = false): string {
  const iso = new Date(ms).toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}${fraction ? '.000000' : ''}`;
}

function readJson(file: string, what: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readRegularFile(file, CORPUS_LIMITS.labelBytes));
  } catch (error) {
    throw new InvalidInputError(`${what}: ${(error as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new InvalidInputError(`${what}: expected an object of file names`);
  return parsed as Record<string, unknown>;
}

/** Reads a corpus in NAB's layout; every problem names its file (and line for CSV rows). */
export function readNabCorpus(dir: string): CorpusFile[] {
  const dataDir = join(dir, 'data');
  const windowsFile = join(dir, 'labels', 'combined_windows.json');
  let names: string[];
  try {
    names = listCsv(dataDir);
  } catch (error) {
    throw new InvalidInputError(`${dataDir}: ${(error as Error).message} (expected data/<group>/<file>.csv)`);
  }
  if (names.length === 0) throw new InvalidInputError(`${dataDir} holds no .csv files (expected data/<group>/<file>.csv)`);
  if (names.length > CORPUS_LIMITS.files) throw new InvalidInputError(`${dataDir} holds ${names.length} files, more than ${CORPUS_LIMITS.files}`);
  const windows = readJson(windowsFile, windowsFile);
  let labels: Record<string, unknown> = {};
  try {
    labels = readJson(join(dir, 'labels', 'combined_labels.json'), join(dir, 'labels', 'combined_labels.json'));
  } catch (error) {
    if (statSafe(join(dir, 'labels', 'combined_labels.json'))) throw error;
  }
  for (const name of Object.keys(windows)) if (!names.includes(name)) throw new InvalidInputError(`${windowsFile}: ${JSON.stringify(name)} has no file in data/`);
  return names.map((name) => {
    const file = join(dataDir, ...name.split('/'));
    const { t, v } = readNabCsv(file);
    const indexAtOrAfter = (ms: number) => firstIndexAtOrAfter(t, ms);
    const rawWindows = windows[name] ?? [];
    if (!Array.isArray(rawWindows)) throw new InvalidInputError(`${windowsFile}: ${name}: expected a list of [start, end] pairs`);
    const fileWindows = rawWindows.map((pair, i) => {
      const [from, to] = Array.isArray(pair) && pair.length === 2 ? pair.map((x) => (typeof x === 'string' ? parseNabTime(x) : undefined)) : [undefined, undefined];
      if (from === undefined || to === undefined || to < from) throw new InvalidInputError(`${windowsFile}: ${name}[${i}]: expected ["YYYY-MM-DD HH:MM:SS", "YYYY-MM-DD HH:MM:SS"], start before end`);
      return { from: indexAtOrAfter(from), to: indexAtOrAfter(to + 1) - 1 };
    }).filter((w) => w.to >= w.from);
    const rawOnsets = labels[name] ?? [];
    const onsets = Array.isArray(rawOnsets) ? rawOnsets.flatMap((x) => {
      const ms = typeof x === 'string' ? parseNabTime(x) : undefined;
      return ms === undefined ? [] : [Math.min(t.length - 1, indexAtOrAfter(ms))];
    }) : [];
    return { name, t, v, windows: fileWindows, onsets };
  });
}

/** The first index whose time is at or after `ms` (binary search on times in order). */
export function firstIndexAtOrAfter(t: ArrayLike<number>, ms: number): number {
  let lo = 0;
  let hi = t.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (t[mid]! < ms) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function statSafe(path: string): boolean {
  try {
    statSync(path);
    return true;
  } catch {
    return false;
  }
}

function listCsv(dataDir: string): string[] {
  const out: string[] = [];
  for (const group of readdirSync(dataDir, { withFileTypes: true })) {
    if (!group.isDirectory()) continue;
    for (const file of readdirSync(join(dataDir, group.name), { withFileTypes: true })) {
      if (file.isFile() && file.name.endsWith('.csv')) out.push(relative(dataDir, join(dataDir, group.name, file.name)).split(sep).join('/'));
    }
  }
  return out.sort();
}

/** One `timestamp,value` CSV (a header line is allowed); rows in time order. */
export function readNabCsv(file: string): { t: Float64Array; v: Float64Array } {
  const text = readRegularFile(file, CORPUS_LIMITS.fileBytes);
  const t: number[] = [];
  const v: number[] = [];
  const lines = text.split(/\r?\n/);
  lines.forEach((line, i) => {
    if (line.trim() === '' || (i === 0 && /[a-z]/i.test(line.split(',')[1] ?? 'x'))) return;
    const [time, value, ...rest] = line.split(',');
    const ms = parseNabTime(time ?? '');
    const number = Number(value);
    if (ms === undefined || rest.length > 0 || value === undefined || value.trim() === '' || !Number.isFinite(number)) throw new InvalidInputError(`${file}:${i + 1}: expected "YYYY-MM-DD HH:MM:SS,value"`);
    if (t.length > 0 && ms <= t[t.length - 1]!) throw new InvalidInputError(`${file}:${i + 1}: timestamps must increase`);
    t.push(ms);
    v.push(number);
  });
  if (t.length === 0) throw new InvalidInputError(`${file}: no rows`);
  return { t: Float64Array.from(t), v: Float64Array.from(v) };
}

/** Writes a corpus in NAB's layout (windows and onsets as timestamps). */
export function writeNabCorpus(dir: string, files: readonly CorpusFile[]): void {
  const windows: Record<string, [string, string][]> = {};
  const labels: Record<string, string[]> = {};
  for (const file of files) {
    const path = join(dir, 'data', ...file.name.split('/'));
    mkdirSync(dirname(path), { recursive: true });
    const rows = ['timestamp,value'];
    for (let i = 0; i < file.t.length; i++) rows.push(`${formatNabTime(file.t[i]!)},${Number(file.v[i]!.toPrecision(8))}`);
    writeFileSync(path, rows.join('\n') + '\n');
    windows[file.name] = file.windows.map((w) => [formatNabTime(file.t[w.from]!, true), formatNabTime(file.t[w.to]!, true)]);
    labels[file.name] = file.onsets.map((i) => formatNabTime(file.t[i]!, true));
  }
  mkdirSync(join(dir, 'labels'), { recursive: true });
  writeFileSync(join(dir, 'labels', 'combined_windows.json'), JSON.stringify(windows, null, 2) + '\n');
  writeFileSync(join(dir, 'labels', 'combined_labels.json'), JSON.stringify(labels, null, 2) + '\n');
}

const STEP_MS = 300_000;
const DAY_POINTS = 288;

export type OperationalKind = 'outage' | 'spike' | 'level-shift' | 'leak' | 'variance' | 'stuck';

/**
 * A generated corpus of operational series, seeded: 5-minute data over two to three weeks, the
 * shapes real services show (daily and weekly cycles, growth, slow drift, noise that scales with
 * the level, the odd unlabelled one-point glitch) with one to three labelled anomalies each: an
 * outage dip, a spike burst, a level that moves for good (a release), a leak that ramps, a noise
 * burst, a series stuck at one value. Windows are NAB's: 10% of the file over its anomalies,
 * centred on each onset.
 */
export function operationalCorpus(seed: number, count: number): (CorpusFile & { kinds: OperationalKind[] })[] {
  const random = new SeededRandom(seed);
  const gaussian = () => Math.sqrt(-2 * Math.log(1 - random.next())) * Math.cos(2 * Math.PI * random.next());
  const between = (lo: number, hi: number) => lo + random.next() * (hi - lo);
  const groups = ['traffic', 'cpu', 'latency', 'errors', 'queue', 'memory'] as const;
  const kindsFor: Record<(typeof groups)[number], OperationalKind[]> = {
    traffic: ['outage', 'spike', 'level-shift', 'stuck'],
    cpu: ['level-shift', 'spike', 'variance', 'stuck'],
    latency: ['level-shift', 'spike', 'variance'],
    errors: ['spike', 'level-shift', 'variance'],
    queue: ['leak', 'spike', 'stuck'],
    memory: ['leak', 'level-shift', 'stuck'],
  };
  const start = Date.UTC(2026, 0, 5);
  const files: (CorpusFile & { kinds: OperationalKind[] })[] = [];
  for (let f = 0; f < count; f++) {
    const group = groups[f % groups.length]!;
    const n = DAY_POINTS * (14 + Math.floor(random.next() * 8));
    const base = group === 'cpu' ? between(20, 50) : group === 'errors' ? between(0.2, 2) : group === 'latency' ? between(40, 200) : between(100, 5000);
    const daily = group === 'queue' || group === 'memory' ? between(0, 0.05) : between(0.15, 0.5);
    const weekly = between(0, 0.2);
    const growth = between(-0.1, 0.4); // over the whole file
    const noise = group === 'errors' ? between(0.15, 0.4) : between(0.02, 0.08);
    const anomalies = 1 + Math.floor(random.next() * 3);
    const probation = Math.floor(0.15 * n);
    // onsets spread over the judged part, each with room before the next
    const slot = Math.floor((n - probation - DAY_POINTS) / anomalies);
    const planned = Array.from({ length: anomalies }, (_, a) => ({
      onset: probation + DAY_POINTS / 2 + a * slot + Math.floor(random.next() * slot * 0.6),
      kind: kindsFor[group][Math.floor(random.next() * kindsFor[group].length)]!,
      size: between(3, 7),
      length: Math.floor(between(6, 36)),
    }));
    const t = new Float64Array(n);
    const v = new Float64Array(n);
    let shift = 0;
    let leak = 0;
    let drift = 0;
    for (let i = 0; i < n; i++) {
      t[i] = start + i * STEP_MS;
      const day = Math.floor(i / DAY_POINTS) % 7;
      drift += gaussian() * 0.002;
      let level = base * (1 + (growth * i) / n + drift) * (1 + daily * Math.sin((2 * Math.PI * (i % DAY_POINTS)) / DAY_POINTS - Math.PI / 2)) * (1 - (day >= 5 ? weekly : 0));
      let sigma = noise * base;
      let stuckAt: number | undefined;
      for (const a of planned) {
        const inside = i >= a.onset && i < a.onset + a.length;
        if (a.kind === 'level-shift' && i === a.onset) shift += (random.next() < 0.7 ? 1 : -0.5) * a.size * noise;
        if (a.kind === 'leak' && i >= a.onset && i < a.onset + 6 * a.length) leak += (a.size * noise) / (2 * a.length);
        if (a.kind === 'leak' && i === a.onset + 6 * a.length) leak = 0; // the restart that ends a leak
        if (!inside) continue;
        if (a.kind === 'outage') level *= 0.3;
        if (a.kind === 'spike' && i < a.onset + 4) level += a.size * noise * base * (group === 'errors' ? 3 : 1);
        if (a.kind === 'variance') sigma *= 1 + a.size;
        if (a.kind === 'stuck') stuckAt = v[a.onset - 1] ?? level;
      }
      level *= 1 + shift + leak;
      // the odd glitch nobody labels: a scrape that caught a GC pause or a retry storm
      const glitch = random.next() < 0.002 ? 3 * sigma * Math.sign(gaussian()) : 0;
      let value = stuckAt ?? level + sigma * gaussian() + glitch;
      if (group === 'cpu') value = Math.min(100, Math.max(0, value));
      if (group === 'errors' || group === 'latency' || group === 'traffic') value = Math.max(0, value);
      v[i] = value;
    }
    const width = Math.floor((0.1 * n) / anomalies);
    files.push({
      name: `${group}/${group}-${String(f + 1).padStart(2, '0')}.csv`, t, v,
      windows: planned.map((a) => ({ from: Math.max(0, a.onset - Math.floor(width / 2)), to: Math.min(n - 1, a.onset + Math.ceil(width / 2) - 1) })),
      onsets: planned.map((a) => a.onset),
      kinds: planned.map((a) => a.kind),
    });
  }
  return files;
}
