import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { errorMessage, InvalidInputError } from '../core/errors.ts';
import { JOURNAL_FILE, readJournal } from '../core/journal-file.ts';
import type { Journal } from '../core/journal.ts';
import { defaultStateDir } from '../core/resources.ts';
import { detectRegression, History, regressionWindow, worseWhen, type Regression } from '../history/index.ts';

export class HistoryUsageError extends InvalidInputError {
  override name = 'HistoryUsageError';
}

/** Where history lives: `--history`, else `$MOAT_HISTORY`, else `history.db` in the state directory. */
export function historyPath(explicit?: string): string {
  return explicit ?? process.env.MOAT_HISTORY ?? join(defaultStateDir(), 'history.db');
}

/**
 * Records a finished run in history. History is memory, not the source of truth: a database that
 * cannot be written is reported on stderr and the run's own result stands (its folder is complete).
 */
export function recordInHistory(journal: Journal, source: 'run' | 'gate' | 'schedule', path = historyPath()): void {
  if (process.env.MOAT_HISTORY === 'off') return;
  let history: History | undefined;
  try {
    history = History.open(path);
    history.record(journal, source);
  } catch (error) {
    process.stderr.write(`moat: the run was not recorded in history (${errorMessage(error)}); its folder ${journal.runDir} is complete\n`);
  } finally {
    history?.close();
  }
}

/** Every regression among a scenario's metrics, newest runs against the ones before. */
export function regressionsOf(history: History, scenario: string): { metric: string; labels: Record<string, string>; regression: Regression }[] {
  const out: { metric: string; labels: Record<string, string>; regression: Regression }[] = [];
  for (const { metric, labels } of history.metricNames(scenario)) {
    const regression = detectRegression(history.series(scenario, metric, labels, regressionWindow()), metric);
    if (regression) out.push({ metric, labels, regression });
  }
  return out;
}

const label = (labels: Record<string, string>) => (Object.keys(labels).length ? `{${Object.entries(labels).map(([k, v]) => `${k}=${v}`).join(',')}}` : '');

/**
 * `moat history [scenario] [--json]`: the recorded runs, newest first; `moat history import
 * <runs-dir>...` loads existing run folders; `moat history trends <scenario> [--json]` shows each
 * metric's recent values and its regressions.
 */
export async function historyCommand(args: string[]): Promise<number> {
  const [sub] = args;
  if (sub === 'import') return importCommand(args.slice(1));
  if (sub === 'trends') return trendsCommand(args.slice(1));
  const { values, positionals } = parseArgs({ args, allowPositionals: true, strict: true, options: { json: { type: 'boolean', default: false }, history: { type: 'string' }, limit: { type: 'string', default: '50' } } });
  if (positionals.length > 1) throw new HistoryUsageError('moat history: expected at most one scenario name (or import, trends)');
  const limit = Number(values.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > 100_000) throw new HistoryUsageError(`--limit expects 1..100000, saw ${JSON.stringify(values.limit)}`);
  const history = History.open(historyPath(values.history));
  try {
    const runs = history.runs({ ...(positionals[0] ? { scenario: positionals[0] } : {}), limit });
    if (values.json) {
      process.stdout.write(JSON.stringify({ history: history.path, runs }, null, 2) + '\n');
      return 0;
    }
    process.stdout.write(`${history.path}: ${history.count()} runs${positionals[0] ? `; ${positionals[0]}, newest first` : ', newest first'}\n`);
    for (const r of runs) process.stdout.write(`${r.startedAt}  ${r.runId}  ${r.scenario.padEnd(28)} ${r.status.padEnd(11)} ${r.passed ? 'PASSED' : 'FAILED'}  seed ${r.seed}  moat ${r.moatVersion}${r.serviceVersion ? `  service ${r.serviceVersion}` : ''}  ${r.runDir}\n`);
    return 0;
  } finally {
    history.close();
  }
}

async function importCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, strict: true, options: { history: { type: 'string' } } });
  if (positionals.length === 0) throw new HistoryUsageError('moat history import: expected one or more folders of runs (or run folders)');
  const history = History.open(historyPath(values.history));
  let imported = 0;
  const skipped: string[] = [];
  try {
    for (const dir of positionals) {
      if (!existsSync(dir)) throw new HistoryUsageError(`moat history import: ${dir} does not exist`);
      const runDirs = existsSync(join(dir, JOURNAL_FILE)) ? [dir] : readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => join(dir, e.name)).filter((d) => existsSync(join(d, JOURNAL_FILE)));
      for (const runDir of runDirs) {
        try {
          history.record(readJournal(runDir), 'import');
          imported++;
        } catch (error) {
          skipped.push(`${runDir}: ${errorMessage(error)}`);
        }
      }
    }
  } finally {
    history.close();
  }
  process.stdout.write(`${history.path}: imported ${imported} run${imported === 1 ? '' : 's'}${skipped.length ? `, skipped ${skipped.length}` : ''}\n`);
  for (const s of skipped) process.stdout.write(`  skipped ${s}\n`);
  return 0;
}

async function trendsCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, strict: true, options: { json: { type: 'boolean', default: false }, history: { type: 'string' }, runs: { type: 'string', default: '20' } } });
  if (positionals.length !== 1) throw new HistoryUsageError('moat history trends: expected one scenario name');
  const scenario = positionals[0]!;
  const runs = Number(values.runs);
  if (!Number.isInteger(runs) || runs < 1 || runs > 10_000) throw new HistoryUsageError(`--runs expects 1..10000, saw ${JSON.stringify(values.runs)}`);
  const history = History.open(historyPath(values.history));
  try {
    const metrics = history.metricNames(scenario).map(({ metric, labels }) => {
      const points = history.series(scenario, metric, labels, 200);
      return { metric, labels, worse: worseWhen(metric), recent: points.slice(-runs).map((p) => p.value), regression: detectRegression(points, metric) ?? null };
    });
    if (values.json) {
      process.stdout.write(JSON.stringify({ scenario, metrics }, null, 2) + '\n');
      return 0;
    }
    if (metrics.length === 0) process.stdout.write(`${scenario}: no runs in ${history.path}\n`);
    for (const m of metrics) {
      const shown = m.recent.map((v) => (v === null ? '-' : Number(v.toPrecision(4)))).join(' ');
      process.stdout.write(`${m.metric}${label(m.labels)}: ${shown}${m.regression ? `\n  REGRESSION: the last ${m.regression.recent} runs are worse (median ${m.regression.recentMedian} vs ${m.regression.baselineMedian}, p = ${m.regression.p.toPrecision(2)}), since run ${m.regression.firstRun.runId} (moat ${m.regression.firstRun.moatVersion}${m.regression.firstRun.serviceVersion ? `, service ${m.regression.firstRun.serviceVersion}` : ''})${m.regression.changedVersion ? `; version changed there: ${m.regression.changedVersion}` : ''}` : ''}\n`);
    }
    return 0;
  } finally {
    history.close();
  }
}
