import { parseArgs } from 'node:util';
import { InvalidInputError } from '../core/errors.ts';
import { parseDurationMs } from '../core/units.ts';
import { replayAlerts } from '../runner/index.ts';

export class AlertsUsageError extends InvalidInputError {
  override name = 'AlertsUsageError';
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
  const stepOverride = values.step === undefined ? undefined : parseDurationMs(values.step);
  if (values.step !== undefined && !(stepOverride! > 0)) throw new AlertsUsageError(`--step expects a duration such as 1s, saw ${JSON.stringify(values.step)}`);
  const { rules, results } = await replayAlerts(rulesFile, runDirs, { ...(stepOverride ? { stepMs: stepOverride } : {}), ...(values['state-dir'] ? { stateDir: values['state-dir'] } : {}) });
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

function fmt(ms: number | null): string {
  if (ms === null) return '-';
  return ms < 10_000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}
