import { join } from 'node:path';
import { InvalidScenarioError, StaleLedgerError } from '../core/errors.ts';
import type { Journal } from '../core/journal.ts';
import { writeJournal } from '../core/journal-file.ts';
import { runCleanup, staleLedgers, type CleanupResult } from '../core/resources.ts';
import type { Scenario } from '../core/scenario.ts';
import { formatMs } from '../core/units.ts';
import { envReferences, RESOURCE_HANDLERS } from '../twin/index.ts';
import { analyze } from './analyze.ts';
import { RunContext, type RunOptions } from './context.ts';
import { runFaults } from './faults.ts';
import { readBack, startLoad } from './phases/load.ts';
import { startObservation } from './phases/observe.ts';
import { tearDown } from './phases/teardown.ts';
import { startTwin } from './phases/twin.ts';

export { describePlan, runLengthMs } from './plan.ts';
export type { RunOptions } from './context.ts';

/**
 * One chaos run, top to bottom, as named phases over one RunContext: twin up → observation →
 * load → warm-up and faults on schedule (each injected, verified, healed) → recovery → read-back;
 * then, whatever happened (an error, SIGINT, SIGTERM), teardown; then analysis and the journal.
 * The journal is written at every phase, so even a kill -9 leaves one that says how far it got.
 */
export async function runScenario(scenario: Scenario, options: RunOptions): Promise<Journal> {
  checkEnvironment(scenario, options.scenarioFile);
  const cleaned = await refuseStale(options);
  const run = RunContext.open(scenario, options);
  if (cleaned.length > 0) await run.activity('cleanup-stale', async () => cleaned, { output: (steps) => steps });
  try {
    run.enter('twin-up', run.journal.plan[0]!);
    await startTwin(run);
    run.enter('observe', 'eBPF probes, the OTLP receiver, scraping and leader polling');
    await startObservation(run);
    run.enter('load', scenario.load.map((l) => l.name).join(', ') || 'none');
    await startLoad(run);
    run.enter('warm-up', `${formatMs(scenario.baseline.warmupMs)} of steady state before the first fault`);
    await runFaults(run);
    run.enter('read-back', 'reading every acknowledged write back');
    await readBack(run);
  } catch (error) {
    run.fail(error);
  } finally {
    run.enter('teardown', 'healing faults and stopping the twin');
    await tearDown(run);
  }
  run.close(run.journal.status === 'running' ? 'completed' : run.journal.status);
  run.enter('analysis', 'detection, scores and gates');
  await analyze(run);
  return finish(run);
}

/** The run's files: its trace, its series and the final journal. */
async function finish(run: RunContext): Promise<Journal> {
  const { journal } = run;
  const endedAt = new Date();
  journal.endedAt = endedAt.toISOString();
  journal.durationMs = endedAt.getTime() - run.startedAt.getTime();
  journal.trace.spans = await run.trace.finish(join(run.runDir, journal.trace.file), journal.status).catch(() => 0);
  run.store.writeJsonLines(join(run.runDir, journal.series.file));
  journal.phase = 'done';
  writeJournal(run.runDir, journal);
  run.notify.end(journal.status);
  return journal;
}

/** A run does not start over the remains of a crashed one, unless told to clean them first. */
async function refuseStale(options: RunOptions): Promise<CleanupResult[]> {
  const stale = staleLedgers(options.stateDir);
  if (stale.length === 0) return [];
  if (!options.cleanupStale) {
    throw new StaleLedgerError(`a crashed run left resources behind (${stale.map((l) => `run ${l.runId}: ${l.outstanding.length} resources`).join('; ')}); run \`moat cleanup\` or pass --cleanup-stale`);
  }
  return (await Promise.all(stale.map((l) => runCleanup(l, RESOURCE_HANDLERS)))).flat();
}

/**
 * Every `${VAR}` an app's env refers to must be set in moat's environment before anything starts.
 * The values stay out of the journal: it keeps the scenario as written, with `${VAR}`.
 */
export function checkEnvironment(scenario: Scenario, file: string, env: NodeJS.ProcessEnv = process.env): void {
  const problems = scenario.twin.services.flatMap((service) => service.kind !== 'app' ? [] : Object.entries(service.env).flatMap(([key, value]) =>
    envReferences({ [key]: value }).filter((name) => env[name] === undefined).map((name) => ({ path: `twin.services.${service.name}.env.${key}`, message: `refers to \${${name}}, which is not set in moat's environment` }))));
  if (problems.length > 0) throw new InvalidScenarioError(file, problems);
}
