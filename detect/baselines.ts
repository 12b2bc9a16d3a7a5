import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { seriesLabel, type Series } from '../core/series.ts';
import { parseSeriesFile } from './import.ts';
import { matchesSeries } from './static.ts';

/**
 * Where detectors learn what normal looks like, besides the run's own warm-up:
 * - `runs`: the warm-ups of earlier completed runs of the same scenario, newest first;
 * - `imports`: production series (CSV or Prometheus range-query JSON) for the watched series a
 *   pattern names, so a model fitted on a week of real traffic judges the twin's faults.
 */
export interface BaselineSources {
  runs?: { dir: string; last: number };
  imports?: { file: string; series: string; scale: number }[];
}

interface EarlierRun {
  runDir: string;
  series: Map<string, { t: number[]; v: number[] }>;
}

/** The warm-up points of up to `last` earlier completed runs of a scenario, newest first. */
export function earlierWarmups(dir: string, scenarioName: string, last: number, trainFrom: number): EarlierRun[] {
  if (!existsSync(dir)) return [];
  const runs: { runDir: string; startedAt: string; warmupEndsAt: number; seriesFile: string }[] = [];
  for (const name of readdirSync(dir)) {
    const journalFile = join(dir, name, 'journal.json');
    if (!existsSync(journalFile)) continue;
    try {
      const journal = JSON.parse(readFileSync(journalFile, 'utf8')) as { scenarioName: string; status: string; startedAt: string; warmupEndsAt: number; series: { file: string } };
      if (journal.scenarioName === scenarioName && journal.status === 'completed') runs.push({ runDir: join(dir, name), startedAt: journal.startedAt, warmupEndsAt: journal.warmupEndsAt, seriesFile: join(dir, name, journal.series.file) });
    } catch {
      // a folder that is not a readable run is not history
    }
  }
  runs.sort((a, b) => b.startedAt.localeCompare(a.startedAt));
  return runs.slice(0, last).map((run) => {
    const series = new Map<string, { t: number[]; v: number[] }>();
    if (existsSync(run.seriesFile)) {
      for (const line of readFileSync(run.seriesFile, 'utf8').split('\n')) {
        if (!line) continue;
        const raw = JSON.parse(line) as { name: string; labels: Record<string, string>; t: number[]; v: (number | null)[] };
        const t: number[] = [];
        const v: number[] = [];
        raw.t.forEach((ti, i) => {
          if (ti >= trainFrom && ti < run.warmupEndsAt) {
            t.push(ti);
            v.push(raw.v[i] ?? Number.NaN);
          }
        });
        series.set(seriesLabel(raw), { t, v });
      }
    }
    return { runDir: run.runDir, series };
  });
}

/**
 * Builds the training series for one watched series: an import that names it replaces the
 * warm-up (its timeline shifted to end where the warm-up ends, values times `scale`); otherwise
 * earlier runs' warm-ups are laid end to end, oldest first, before this run's own warm-up.
 * Returns undefined when only the warm-up applies, and a line for the journal otherwise.
 */
export function trainingFor(series: Series, own: Series, earlier: readonly EarlierRun[], imports: readonly { series: string; scale: number; data: Series[]; file: string }[], trainUntil: number): { train: Series; source: string } | undefined {
  const label = seriesLabel(series);
  const imported = imports.find((i) => matchesSeries(series, i.series));
  if (imported) {
    const data = imported.data.length === 1 ? imported.data[0]! : imported.data.find((d) => seriesLabel({ name: series.name, labels: d.labels }) === label) ?? imported.data[0]!;
    const step = data.t.length > 1 ? data.t[data.t.length - 1]! - data.t[data.t.length - 2]! : 1000;
    const shift = trainUntil - step - data.t[data.t.length - 1]!;
    return {
      train: { ...series, t: Float64Array.from(data.t, (t) => t + shift), v: Float64Array.from(data.v, (v) => v * imported.scale) },
      source: `${label}: ${data.t.length} points imported from ${imported.file}${imported.scale === 1 ? '' : ` x ${imported.scale}`}`,
    };
  }
  const segments = earlier.map((run) => run.series.get(label)).filter((s): s is { t: number[]; v: number[] } => s !== undefined && s.t.length > 0).reverse();
  if (segments.length === 0) return undefined;
  const t: number[] = [];
  const v: number[] = [];
  const step = own.t.length > 1 ? own.t[1]! - own.t[0]! : 1000;
  let cursor = (own.t[0] ?? trainUntil) - step * segments.reduce((n, s) => n + s.t.length, 0);
  for (const segment of segments) {
    for (const value of segment.v) {
      t.push(cursor);
      v.push(value);
      cursor += step;
    }
  }
  t.push(...own.t);
  v.push(...own.v);
  return { train: { ...series, t: Float64Array.from(t), v: Float64Array.from(v) }, source: `${label}: warm-up + ${segments.length} earlier run${segments.length === 1 ? '' : 's'} (${t.length} points)` };
}

export function loadImports(imports: readonly { file: string; series: string; scale: number }[]): { series: string; scale: number; data: Series[]; file: string }[] {
  return imports.map((i) => ({ ...i, data: parseSeriesFile(readFileSync(i.file, 'utf8'), i.file).series }));
}
