import { existsSync, readdirSync } from 'node:fs';
import type { ImportSource } from '../core/scenario.ts';
import { join } from 'node:path';
import { JOURNAL_FILE, readJournal } from '../core/journal-file.ts';
import { readSeriesFile } from '../core/series-file.ts';
import { isInside } from '../core/files.ts';
import { seriesLabel, type Series } from '../core/series.ts';
import { readSeriesImport } from '../core/series-import.ts';
import { matchesSeries } from '../core/series.ts';

interface EarlierRun {
  runDir: string;
  series: Map<string, { t: number[]; v: number[] }>;
}

/** The warm-up points of up to `last` earlier completed runs of a scenario, newest first. */
export function earlierWarmups(dir: string, scenarioName: string, last: number, trainFrom: number): EarlierRun[] {
  if (!existsSync(dir)) return [];
  const runs: { runDir: string; startedAt: string; warmupEndsAt: number; seriesFile: string }[] = [];
  for (const name of readdirSync(dir)) {
    const runDir = join(dir, name);
    if (!existsSync(join(runDir, JOURNAL_FILE))) continue;
    try {
      const journal = readJournal(runDir);
      if (journal.scenarioName === scenarioName && journal.status === 'completed' && isInside(runDir, journal.series.file)) {
        runs.push({ runDir, startedAt: journal.startedAt, warmupEndsAt: journal.warmupEndsAt, seriesFile: join(runDir, journal.series.file) });
      }
    } catch {
      // a folder that is not a readable run is not history
    }
  }
  runs.sort((a, b) => b.startedAt.localeCompare(a.startedAt));
  return runs.slice(0, last).map((run) => {
    const series = new Map<string, { t: number[]; v: number[] }>();
    for (const raw of readSeriesFile(run.seriesFile)) {
      const t: number[] = [];
      const v: number[] = [];
      raw.t.forEach((ti, i) => {
        if (ti >= trainFrom && ti < run.warmupEndsAt) {
          t.push(ti);
          v.push(raw.v[i]!);
        }
      });
      series.set(seriesLabel(raw), { t, v });
    }
    return { runDir: run.runDir, series };
  });
}

/**
 * Builds the training series for one watched series. An import that names it is laid just before
 * this run's warm-up (its timeline divided by `speedup`, its values times `scale`), so a replayed
 * day precedes the day the twin replays, phase for phase; otherwise earlier runs' warm-ups are laid
 * end to end, oldest first. This run's own warm-up always follows. Returns undefined when only the
 * warm-up applies, and a line for the journal otherwise.
 */
export function trainingFor(series: Series, own: Series, earlier: readonly EarlierRun[], imports: readonly LoadedImport[], trainUntil: number): { train: Series; source: string } | undefined {
  const label = seriesLabel(series);
  const imported = imports.find((i) => matchesSeries(series, i.series));
  if (imported) {
    const data = imported.data.length === 1 ? imported.data[0]! : imported.data.find((d) => seriesLabel({ name: series.name, labels: d.labels }) === label) ?? imported.data[0]!;
    const times = Array.from(data.t, (t) => t / imported.speedup);
    const step = times.length > 1 ? times[times.length - 1]! - times[times.length - 2]! : 1000;
    const shift = (own.t[0] ?? trainUntil) - step - times[times.length - 1]!;
    return {
      train: { ...series, t: Float64Array.from([...times.map((t) => t + shift), ...own.t]), v: Float64Array.from([...Array.from(data.v, (v) => v * imported.scale), ...own.v]) },
      source: `${label}: ${data.t.length} points imported from ${imported.file}${imported.scale === 1 ? '' : ` x ${imported.scale}`}${imported.speedup === 1 ? '' : `, ${imported.speedup}x faster`}, then the warm-up`,
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

export type LoadedImport = ImportSource & { data: Series[] };

export function loadImports(imports: readonly ImportSource[]): LoadedImport[] {
  return imports.map((i) => ({ ...i, data: readSeriesImport(i.file).series }));
}
