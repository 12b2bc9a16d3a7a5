import { dirname, resolve } from 'node:path';
import * as z from 'zod';
import { InvalidScenarioError, errorMessage, type ScenarioProblem } from '../core/errors.ts';
import { isInside, readRegularFile } from '../core/files.ts';
import { loadScenarioFile, parseYamlFile, formatPath } from '../runner/index.ts';
import type { Schedule } from '../history/index.ts';
import { Cron } from 'croner';

/** Schedule files are named `<name>.schedule.yaml`, so they can sit beside the scenarios they run. */
export function isScheduleFile(file: string): boolean {
  return /\.schedule\.ya?ml$/.test(file);
}

/** A schedule file is small; more is a mistake or an attack. */
export const MAX_SCHEDULE_BYTES = 256 * 1024;

const clock = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, { error: 'expected a time of day as HH:MM' });

const scheduleDocument = z.strictObject({
  timezone: z.string().default('UTC'),
  catchUp: z.enum(['latest', 'all', 'none']).default('latest'),
  budget: z.strictObject({ runsPerDay: z.int().min(1).max(10_000) }).default({ runsPerDay: 48 }),
  schedules: z.array(z.strictObject({
    name: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, { error: 'expected lower-case letters, digits and dashes' }),
    cron: z.string().max(200),
    scenarios: z.array(z.string()).min(1).max(200),
    seeds: z.int().min(1).max(100).default(1),
    window: z.strictObject({ from: clock, to: clock }).optional(),
  })).min(1).max(100),
});

/**
 * Reads a schedule file: every problem with its file, line and path (a cron expression croner
 * rejects, an unknown time zone, a scenario file that does not validate, a repeated name), all
 * before anything starts. Scenario paths are relative to the schedule file and must lie in its
 * folder unless `allowOutsidePaths`.
 */
export async function loadScheduleFile(file: string, options: { allowOutsidePaths?: boolean } = {}): Promise<Schedule> {
  let text: string;
  try {
    text = readRegularFile(file, MAX_SCHEDULE_BYTES);
  } catch (error) {
    throw new InvalidScenarioError(file, [{ path: '', message: `cannot read the schedule: ${errorMessage(error)}` }]);
  }
  const { data, locate } = parseYamlFile(text, file, scheduleDocument, 'timezone, catchUp, budget and schedules', MAX_SCHEDULE_BYTES, 'schedule');
  const problems: ScenarioProblem[] = [];
  const report = (path: (string | number)[], message: string) => problems.push({ path: formatPath(path), line: locate(path), message });
  try {
    new Intl.DateTimeFormat('en', { timeZone: data.timezone });
  } catch {
    report(['timezone'], `unknown time zone ${JSON.stringify(data.timezone)} (expected an IANA name such as UTC or Europe/Berlin)`);
  }
  const base = dirname(resolve(file));
  const names = new Set<string>();
  const entries: Schedule['entries'] = [];
  for (const [i, entry] of data.schedules.entries()) {
    if (names.has(entry.name)) report(['schedules', i, 'name'], `the name ${JSON.stringify(entry.name)} is used twice`);
    names.add(entry.name);
    try {
      new Cron(entry.cron, { paused: true, timezone: 'UTC' });
    } catch (error) {
      report(['schedules', i, 'cron'], `not a cron expression croner accepts: ${errorMessage(error)}`);
    }
    const scenarios: { file: string; name: string }[] = [];
    for (const [j, source] of entry.scenarios.entries()) {
      const path = resolve(base, source);
      if (!options.allowOutsidePaths && !isInside(base, path)) {
        report(['schedules', i, 'scenarios', j], `${source} is outside the schedule's folder (pass --allow-outside-paths to allow it)`);
        continue;
      }
      try {
        const scenario = await loadScenarioFile(path, { ...(options.allowOutsidePaths ? { allowOutsidePaths: true } : {}) });
        scenarios.push({ file: path, name: scenario.name });
      } catch (error) {
        report(['schedules', i, 'scenarios', j], `${source} does not validate: ${errorMessage(error).split('\n').slice(0, 4).join('; ')}`);
      }
    }
    const minute = (text: string) => Number(text.slice(0, 2)) * 60 + Number(text.slice(3));
    entries.push({ name: entry.name, cron: entry.cron, scenarios, seeds: entry.seeds, ...(entry.window ? { window: { fromMinute: minute(entry.window.from), toMinute: minute(entry.window.to) } } : {}) });
  }
  if (problems.length > 0) throw new InvalidScenarioError(file, problems.sort((a, b) => (a.line ?? 0) - (b.line ?? 0)));
  return { file: resolve(file), timezone: data.timezone, catchUp: data.catchUp, runsPerDay: data.budget.runsPerDay, entries };
}
