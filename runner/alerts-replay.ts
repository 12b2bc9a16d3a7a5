import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { InvalidInputError } from '../core/errors.ts';
import { readJournal } from '../core/journal-file.ts';
import { ResourceLedger, runCleanup, readLedgerFile } from '../core/resources.ts';
import type { AlertEpisodeRecord, Journal } from '../core/journal.ts';
import { checkRuleFile, episodesFromExpression, readAlertRules, startReplayPrometheus } from '../observe/index.ts';
import { RESOURCE_HANDLERS } from '../twin/index.ts';
import { scoreAlerts } from './analyze.ts';

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
 * New or edited alert rules against the series of earlier runs, with no twin. Each run folder keeps
 * the TSDB its Prometheus stored (`prometheus/`); the snapshots are merged under one Prometheus,
 * each rule's expression is evaluated by it over each run's time at the evaluation interval, and
 * Prometheus' alert state machine (`for:`, `keep_firing_for:`) turns the results into episodes,
 * scored against each run's faults as a live run scores them.
 */
export async function replayAlerts(rulesFile: string, runDirs: readonly string[], options: { stepMs?: number; stateDir?: string } = {}): Promise<{ rules: ReturnType<typeof readAlertRules>; results: ReplayResult[] }> {
  const stepOverride = options.stepMs;
  const problems = checkRuleFile(rulesFile);
  if (problems.length > 0) throw new InvalidInputError(problems.map((p) => `${p.file}${p.line === undefined ? '' : `:${p.line}`}: ${p.message}`).join('\n'));
  const rules = readAlertRules(rulesFile);
  if (rules.length === 0) throw new InvalidInputError(`${rulesFile} has no alerting rules`);
  const runs = runDirs.map((dir) => {
    const journal = readJournal(dir);
    if (!journal.alerts?.tsdb || !existsSync(join(dir, journal.alerts.tsdb))) throw new InvalidInputError(`${dir} has no Prometheus TSDB: replays need runs whose scenario had an alerts: section`);
    return { dir, journal };
  });

  const runId = randomBytes(3).toString('hex');
  const ledger = ResourceLedger.open(runId, options.stateDir ? { stateDir: options.stateDir } : {});
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
  return { rules, results };
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

