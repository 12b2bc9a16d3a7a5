import { parseArgs } from 'node:util';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { InvalidInputError } from '../core/errors.ts';
import { readJournal } from '../core/journal-file.ts';
import { ResourceLedger, runCleanup, readLedgerFile } from '../core/resources.ts';
import { parseDurationMs } from '../core/units.ts';
import type { AlertEpisodeRecord, Journal } from '../core/journal.ts';
import { checkRuleFile, episodesFromExpression, readAlertRules, startReplayPrometheus } from '../observe/index.ts';
import { scoreAlerts } from '../runner/index.ts';
import { RESOURCE_HANDLERS } from '../twin/index.ts';

export class AlertsUsageError extends InvalidInputError {
  override name = 'AlertsUsageError';
}

/** One run's result of a replay: each rule on each of its faults, and the rules' false alarms. */
export interface ReplayResult {
  runDir: string;
  scenario: string;
  episodes: AlertEpisodeRecord[];
  detections: ReturnType<typeof scoreAlerts>['detections'];
  falseAlarms: { alert: string; t: number }[];
  blind: string[];
  unpaged: string[];
}

/**
 * `moat alerts replay <rules.yaml> <run-dir>...`: new or edited alert rules against the series of
 * earlier runs, with no twin. Each run folder keeps the TSDB its Prometheus stored (`prometheus/`);
 * the snapshots are merged under one Prometheus, each rule's expression is evaluated by it over each
 * run's time at the evaluation interval, and Prometheus' alert state machine (`for:`,
 * `keep_firing_for:`) turns the results into episodes, scored against each run's faults as a live
 * run scores them.
 */
export async function alertsCommand(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (sub !== 'replay') throw new AlertsUsageError('moat alerts: expected `replay <rules.yaml> <run-dir>...`');
  const { values, positionals } = parseArgs({ args: rest, allowPositionals: true, strict: true, options: { json: { type: 'boolean', default: false }, step: { type: 'string' }, 'state-dir': { type: 'string' } } });
  const [rulesFile, ...runDirs] = positionals;
  if (!rulesFile || runDirs.length === 0) throw new AlertsUsageError('moat alerts replay: expected a rule file and one or more run folders');
  const problems = checkRuleFile(rulesFile);
  if (problems.length > 0) throw new AlertsUsageError(problems.map((p) => `${p.file}${p.line === undefined ? '' : `:${p.line}`}: ${p.message}`).join('\n'));
  const rules = readAlertRules(rulesFile);
  if (rules.length === 0) throw new AlertsUsageError(`${rulesFile} has no alerting rules`);
  const stepOverride = values.step === undefined ? undefined : parseDurationMs(values.step);
  if (values.step !== undefined && !(stepOverride! > 0)) throw new AlertsUsageError(`--step expects a duration such as 1s, saw ${JSON.stringify(values.step)}`);
  const runs = runDirs.map((dir) => {
    const journal = readJournal(dir);
    if (!journal.alerts?.tsdb || !existsSync(join(dir, journal.alerts.tsdb))) throw new AlertsUsageError(`${dir} has no Prometheus TSDB: replays need runs whose scenario had an alerts: section`);
    return { dir, journal };
  });

  const runId = randomBytes(3).toString('hex');
  const ledger = ResourceLedger.open(runId, values['state-dir'] ? { stateDir: values['state-dir'] } : {});
  const workDir = join(tmpdir(), `moat-${runId}-replay`);
  ledger.add({ kind: 'dir', path: workDir });
  mkdirSync(workDir, { mode: 0o700 });
  let results: ReplayResult[];
  try {
    const prometheus = await startReplayPrometheus({ ledger, snapshots: runs.map((r) => join(r.dir, r.journal.alerts!.tsdb!)), workDir, logFile: join(workDir, 'prometheus.log') });
    try {
      results = await Promise.all(runs.map(async ({ dir, journal }) => {
        const zero = Date.parse(journal.clockZero ?? journal.startedAt);
        const end = Date.parse(journal.endedAt || journal.startedAt);
        const step = stepOverride ?? journal.scenario.alerts?.evaluationIntervalMs ?? journal.scenario.observe.intervalMs;
        const episodes: AlertEpisodeRecord[] = [];
        for (const rule of rules) {
          const series = await prometheus.queryRange(rule.expr, zero, end, rule.intervalMs ?? step);
          for (const e of episodesFromExpression(rule.name, series, rule, rule.intervalMs ?? step, end)) {
            episodes.push({ alert: e.alert, labels: e.labels, pendingAt: e.pendingAt - zero, firingAt: e.firingAt === null ? null : e.firingAt - zero, resolvedAt: e.resolvedAt === null ? null : e.resolvedAt - zero });
          }
        }
        return scoreRun(dir, journal, rules, episodes);
      }));
    } finally {
      await prometheus.stop();
    }
  } finally {
    rmSync(workDir, { recursive: true, force: true });
    ledger.remove(`dir:${workDir}`);
    if (!ledger.close()) await runCleanup(readLedgerFile(ledger.file), RESOURCE_HANDLERS);
  }
  if (values.json) {
    process.stdout.write(JSON.stringify({ rules: rules.map((r) => ({ name: r.name, file: r.file, line: r.line, forMs: r.forMs })), runs: results }, null, 2) + '\n');
    return 0;
  }
  for (const result of results) {
    process.stdout.write(`${result.runDir} (${result.scenario})\n`);
    for (const d of result.detections.filter((x) => x.covers)) {
      process.stdout.write(`  ${d.faultId}  ${d.alert.padEnd(40)} pending ${fmt(d.pendingMs)}  firing ${d.ttdMs === null ? 'never' : fmt(d.ttdMs)}${d.ratioToBest === null ? '' : `  (${d.ratioToBest.toFixed(1)}x moat's best)`}\n`);
    }
    if (result.falseAlarms.length) process.stdout.write(`  false alarms: ${result.falseAlarms.map((f) => `${f.alert} at ${fmt(f.t)}`).join(', ')}\n`);
    process.stdout.write(`  blind: ${result.blind.join(', ') || 'none'}; unpaged faults: ${result.unpaged.join(', ') || 'none'}\n`);
  }
  return 0;
}

function scoreRun(dir: string, journal: Journal, rules: ReturnType<typeof readAlertRules>, episodes: AlertEpisodeRecord[]): ReplayResult {
  const lastT = Date.parse(journal.endedAt || journal.startedAt) - Date.parse(journal.clockZero ?? journal.startedAt);
  const windows = journal.faults.filter((f) => f.appliedAt !== null).map((f) => ({ id: f.id, appliedAt: f.appliedAt!, healedAt: f.healedAt ?? lastT }));
  const moatDetections = journal.detections.filter((d) => !d.detector.startsWith('alert:'));
  const result = scoreAlerts({ spec: { rules, covers: journal.scenario.alerts?.covers ?? {} }, episodes, windows, faults: journal.faults, graceMs: journal.graceMs, lastT, moatDetections, notifications: [] });
  return {
    runDir: resolve(dir), scenario: journal.scenarioName, episodes, detections: result.detections,
    falseAlarms: result.scores.falseAlarms.map((a) => ({ alert: a.detector.replace(/^alert:/, ''), t: a.t })), blind: result.blind, unpaged: result.unpaged,
  };
}

function fmt(ms: number | null): string {
  if (ms === null) return '-';
  return ms < 10_000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}
