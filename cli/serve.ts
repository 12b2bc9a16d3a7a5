import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { errorMessage, InvalidInputError } from '../core/errors.ts';
import type { Journal } from '../core/journal.ts';
import { defaultStateDir } from '../core/resources.ts';
import { History, LiveFeed, Scheduler, startDashboard, type Executor } from '../history/index.ts';
import { loadScenarioFile, progressObserver, runScenario } from '../runner/index.ts';
import { writeReports } from '../reports/index.ts';
import { historyPath } from './history.ts';
import { loadScheduleFile } from './schedule-file.ts';

export class ServeUsageError extends InvalidInputError {
  override name = 'ServeUsageError';
}

/** The token that guards starting runs and changing the schedule: `$MOAT_TOKEN`, else one kept in the state directory (mode 0600). */
function serveToken(): string {
  if (process.env.MOAT_TOKEN) return process.env.MOAT_TOKEN;
  mkdirSync(defaultStateDir(), { recursive: true, mode: 0o700 });
  const file = join(defaultStateDir(), 'serve-token');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  const token = randomBytes(24).toString('base64url');
  writeFileSync(file, token + '\n', { mode: 0o600, flag: 'wx' });
  chmodSync(file, 0o600);
  return token;
}

/**
 * `moat serve --schedule FILE`: the scheduler and the dashboard in one process. Runs go one at a
 * time through the queue in the history database; each is recorded in history as it finishes.
 * A run left behind by a killed `moat serve` is recorded as interrupted when it starts again, and
 * its leftovers are cleaned up (the resource ledger) before the next run.
 */
export async function serveCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args, strict: true,
    options: {
      schedule: { type: 'string' },
      port: { type: 'string', default: '8470' },
      host: { type: 'string', default: '127.0.0.1' },
      out: { type: 'string', default: 'runs' },
      history: { type: 'string' },
      'allow-outside-paths': { type: 'boolean', default: false },
    },
  });
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new ServeUsageError(`--port expects 0..65535, saw ${JSON.stringify(values.port)}`);
  const schedule = values.schedule ? await loadScheduleFile(values.schedule, { allowOutsidePaths: values['allow-outside-paths'] }) : undefined;
  const history = History.open(historyPath(values.history));
  const live = new LiveFeed();
  const names = new Map(schedule?.entries.flatMap((e) => e.scenarios.map((s) => [s.file, s.name] as const)) ?? []);

  const execute: Executor = async (item, signal, started) => {
    const scenario = await loadScenarioFile(item.scenarioFile, { ...(values['allow-outside-paths'] ? { allowOutsidePaths: true } : {}) });
    const journal: Journal = await runScenario(scenario, {
      scenarioFile: item.scenarioFile, outDir: values.out, seed: item.seed, cleanupStale: true, signal,
      observers: [progressObserver(process.stderr), {
        phase: (name, detail) => live.publish({ type: 'phase', name, detail }),
        event: (event) => live.publish({ type: 'event', event }),
      }],
      onStart: (run) => {
        started(run);
        live.publish({ type: 'start', runId: run.runId, scenario: names.get(item.scenarioFile) ?? scenario.name, runDir: run.runDir });
      },
    });
    try {
      writeReports(journal.runDir);
    } catch (error) {
      process.stderr.write(`moat: reports for ${journal.runDir} could not be written: ${errorMessage(error)}\n`);
    }
    try {
      history.record(journal, 'schedule');
    } catch (error) {
      process.stderr.write(`moat: the run was not recorded in history (${errorMessage(error)}); its folder ${journal.runDir} is complete\n`);
    }
    live.publish({ type: 'end', status: journal.status, alarms: journal.alarms.slice(0, 200).map((a) => ({ t: a.t, detector: a.detector, series: a.series })) });
    return journal;
  };

  const scheduler = schedule ? new Scheduler(history, schedule, execute) : undefined;
  const dashboard = await startDashboard({ history, live, token: serveToken(), host: values.host, port, ...(scheduler ? { scheduler } : {}) });
  scheduler?.onChange((item) => process.stderr.write(`moat serve: queue ${item.id} ${item.state}: ${item.scenarioFile}${item.runId ? ` (run ${item.runId})` : ''}${item.detail ? ` - ${item.detail}` : ''}\n`));
  const recovered = scheduler?.recover() ?? [];
  for (const item of recovered) process.stderr.write(`moat serve: run ${item.runId ?? `of queue item ${item.id}`} was in progress when moat stopped: recorded as interrupted\n`);
  scheduler?.start();
  process.stdout.write(`moat serve: dashboard on ${dashboard.url}/ (history ${history.path}${schedule ? `, schedule ${schedule.file}: ${schedule.entries.length} entr${schedule.entries.length === 1 ? 'y' : 'ies'}` : ', no schedule'})\n`);

  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = async (signal: string) => {
      if (stopping) return;
      stopping = true;
      process.stderr.write(`moat serve: ${signal}: stopping${scheduler?.status().running ? ' (the run in progress heals its faults and tears down first)' : ''}\n`);
      await scheduler?.stop();
      await dashboard.close();
      history.close();
      resolve(0);
    };
    process.once('SIGINT', () => void stop('SIGINT'));
    process.once('SIGTERM', () => void stop('SIGTERM'));
  });
}
