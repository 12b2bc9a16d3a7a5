import type { TwinBackendName } from '../core/scenario.ts';
import { parseArgs } from 'node:util';
import { writeFileSync, existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { InvalidInputError, InvalidScenarioError, MoatError, StaleLedgerError, errorMessage } from '../core/errors.ts';
import { checkEnvironment, describePlan, loadScenarioFile, progressObserver, runScenario, runLengthMs, summarizeRepeats } from '../runner/index.ts';
import { readJournal } from '../core/journal-file.ts';
import { listLedgers, planCleanup, runCleanup, defaultStateDir } from '../core/resources.ts';
import { RESOURCE_HANDLERS } from '../twin/index.ts';
import { renderMarkdown, renderJunit, renderRepeatJunit, writeReports, writeBundle, verifyBundle } from '../reports/index.ts';
import type { GateRepeat, Journal } from '../core/journal.ts';
import type { Scenario } from '../core/scenario.ts';
import { randomInt } from 'node:crypto';
import { formatMs } from '../core/units.ts';
import { doctor } from './doctor.ts';
import { detectCommand } from './detect.ts';
import { alertsCommand } from './alerts.ts';
import { diagnoseCommand } from './diagnose.ts';
import { historyCommand, recordInHistory } from './history.ts';
import { serveCommand } from './serve.ts';
import { exportCommand } from './export.ts';
import { isScheduleFile, loadScheduleFile } from './schedule-file.ts';

/** Exit codes, shared by every command: 0 pass, 1 a gate or verdict failed, 2 invalid input, 3 the run itself failed. */
export const EXIT = { ok: 0, failed: 1, invalid: 2, runFailed: 3 } as const;

const USAGE = `moat - chaos runs on a digital twin, scored against exact fault ground truth

usage:
  moat run <scenario.yaml> [--out DIR] [--seed N] [--backend netns|containers] [--dry-run] [--cleanup-stale] [--json] [--allow-outside-paths]
  moat gate <scenario.yaml>... [--junit FILE] [--out DIR] [--seed N] [--repeat N] [--backend netns|containers] [--cleanup-stale] [--allow-outside-paths]
  moat validate <scenario.yaml|x.schedule.yaml>... [--allow-outside-paths]
  moat report <run-dir> [--markdown]
  moat bundle <run-dir> [--out FILE.tar.gz]
  moat verify-bundle <FILE.tar.gz>
  moat detect <series.csv|.json> [--detector robust-z|mstl|prophet|esd|knn|ensemble] [--mode fitted|online] [--train-until T]
              [--windows a..b,c..d] [--scores FILE] [--json] [--level L] [--threshold Z] [--alpha A] [--consensus N]
              [--rule k/m|consecutive:N|for:D|breach] [--direction both|up|down] [--period D]... [--grace D]
              [--window D] [--refit-every N] [--adapt-after D]
  moat detect bench <corpus-dir> [--detector KIND]... [--mode fitted|online|both] [--json]
  moat detect corpus <dir> [--seed N] [--files N]
  moat alerts replay <rules.yaml> <run-dir>... [--json] [--step D]
  moat diagnose <run-dir> [--json] [--window 30s] [--out FILE]
  moat history [scenario] [--json] [--limit N] [--history FILE]
  moat history import <runs-dir>... [--history FILE]
  moat history trends <scenario> [--runs N] [--json] [--history FILE]
  moat serve [--schedule FILE] [--port 8470] [--host 127.0.0.1] [--out DIR] [--history FILE]
  moat export chaos-mesh <scenario.yaml> [--namespace NS] [--label-key KEY] [--crds DIR]
  moat cleanup [--dry-run]
  moat doctor

exit codes: 0 passed, 1 a gate failed, 2 invalid input, 3 the run itself failed
`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'run': return runCommand(rest);
    case 'validate': return validateCommand(rest);
    case 'gate': return gateCommand(rest);
    case 'detect': return detectCommand(rest);
    case 'alerts': return alertsCommand(rest);
    case 'diagnose': return diagnoseCommand(rest);
    case 'history': return historyCommand(rest);
    case 'serve': return serveCommand(rest);
    case 'report': return reportCommand(rest);
    case 'bundle': return bundleCommand(rest);
    case 'verify-bundle': return verifyBundleCommand(rest);
    case 'cleanup': return cleanupCommand(rest);
    case 'export': return exportCommand(rest);
    case 'doctor': return doctor();
    case undefined: case 'help': case '--help': case '-h':
      process.stdout.write(USAGE);
      return command === undefined ? EXIT.invalid : EXIT.ok;
    default:
      process.stderr.write(`moat: unknown command ${JSON.stringify(command)}\n\n${USAGE}`);
      return EXIT.invalid;
  }
}


async function validateCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, strict: true, options: { 'allow-outside-paths': { type: 'boolean', default: false } } });
  if (positionals.length === 0) {
    process.stderr.write('moat validate: expected one or more scenario files\n');
    return EXIT.invalid;
  }
  let failed = 0;
  for (const file of positionals) {
    try {
      if (isScheduleFile(file)) {
        const schedule = await loadScheduleFile(file, { allowOutsidePaths: values['allow-outside-paths'] });
        process.stdout.write(`${file}: ok (a schedule: ${schedule.entries.length} entr${schedule.entries.length === 1 ? 'y' : 'ies'}, ${new Set(schedule.entries.flatMap((e) => e.scenarios.map((s) => s.file))).size} scenarios, every one valid)\n`);
        continue;
      }
      const scenario = await loadScenarioFile(file, { allowOutsidePaths: values['allow-outside-paths'] });
      process.stdout.write(`${file}: ok (${scenario.faults.length} fault${scenario.faults.length === 1 ? '' : 's'}, ${formatMs(runLengthMs(scenario))} run)\n`);
    } catch (error) {
      failed++;
      process.stderr.write(`${errorMessage(error)}\n`);
    }
  }
  return failed === 0 ? EXIT.ok : EXIT.invalid;
}

async function runCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args, allowPositionals: true, strict: true,
    options: {
      out: { type: 'string', default: 'runs' },
      seed: { type: 'string' },
      'dry-run': { type: 'boolean', default: false },
      'cleanup-stale': { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      'allow-outside-paths': { type: 'boolean', default: false },
      backend: { type: 'string' },
    },
  });
  if (positionals.length !== 1) {
    process.stderr.write('moat run: expected exactly one scenario file\n');
    return EXIT.invalid;
  }
  const file = positionals[0]!;
  const seed = parseSeed(values.seed);
  const scenario = await loadScenarioFile(file, { allowOutsidePaths: values['allow-outside-paths'], ...backendOption(values.backend) });
  if (values['dry-run']) {
    process.stdout.write(`plan for ${scenario.name} (seed ${seed ?? scenario.seed ?? 'drawn at start'}, ${formatMs(runLengthMs(scenario))} observed):\n`);
    for (const line of describePlan(scenario)) process.stdout.write(`  - ${line}\n`);
    return EXIT.ok;
  }
  const journal = await runAndReport(file, scenario, { outDir: values.out, cleanupStale: values['cleanup-stale'] === true, seed, quiet: values.json === true });
  recordInHistory(journal, 'run');
  process.stdout.write(values.json ? JSON.stringify(journal, null, 2) + '\n' : renderMarkdown(journal));
  return exitCodeOf([journal]);
}

/** 3 when a run did not complete, else 1 when a verdict failed, else 0. */
function exitCodeOf(journals: readonly Journal[]): number {
  if (journals.some((j) => j.status !== 'completed')) return EXIT.runFailed;
  return journals.every((j) => j.verdict.passed) ? EXIT.ok : EXIT.failed;
}

async function runAndReport(file: string, scenario: Awaited<ReturnType<typeof loadScenarioFile>>, options: { outDir: string; cleanupStale: boolean; seed: number | undefined; quiet: boolean }): Promise<Journal> {
  const journal = await runScenario(scenario, {
    scenarioFile: file, outDir: options.outDir, cleanupStale: options.cleanupStale,
    ...(options.seed === undefined ? {} : { seed: options.seed }),
    observers: options.quiet ? [] : [progressObserver()],
  });
  try {
    writeReports(journal.runDir);
  } catch (error) {
    // a report that cannot be written must not hide the run's own result
    process.stderr.write(`moat: reports for ${journal.runDir} could not be written: ${errorMessage(error)}\n`);
  }
  return journal;
}

/** `--backend netns|containers`: the twin's backend, whatever the scenario file says. */
function backendOption(text: string | undefined): { backend?: TwinBackendName } {
  if (text === undefined) return {};
  if (text !== 'netns' && text !== 'containers') throw new UsageError(`--backend expects netns or containers, saw ${JSON.stringify(text)}`);
  return { backend: text };
}

function parseSeed(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const seed = Number(text);
  if (!Number.isInteger(seed) || seed < 0 || seed >= 2 ** 32) throw new UsageError(`--seed expects an integer in [0, 2^32), saw ${JSON.stringify(text)}`);
  return seed;
}

class UsageError extends InvalidInputError {
  override name = 'UsageError';
}

async function gateCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args, allowPositionals: true, strict: true,
    options: {
      out: { type: 'string', default: 'runs' },
      junit: { type: 'string' },
      seed: { type: 'string' },
      'cleanup-stale': { type: 'boolean', default: false },
      'allow-outside-paths': { type: 'boolean', default: false },
      repeat: { type: 'string' },
      backend: { type: 'string' },
    },
  });
  if (positionals.length === 0) throw new UsageError('moat gate: expected one or more scenario files');
  const seed = parseSeed(values.seed);
  const repeat = values.repeat === undefined ? undefined : Number(values.repeat);
  if (repeat !== undefined && (!Number.isInteger(repeat) || repeat < 2 || repeat > 1000)) throw new UsageError(`--repeat expects 2..1000 runs, saw ${JSON.stringify(values.repeat)}`);
  // every scenario is validated before any run starts: a typo in the last file must not cost a run
  const scenarios = [];
  const invalid: string[] = [];
  for (const file of positionals) {
    try {
      const scenario = await loadScenarioFile(file, { allowOutsidePaths: values['allow-outside-paths'], ...backendOption(values.backend) });
      checkEnvironment(scenario, file);
      if (scenario.gates.length === 0) invalid.push(`${file}: no gates: a gate run needs at least one`);
      scenarios.push({ file, scenario });
    } catch (error) {
      invalid.push(errorMessage(error));
    }
  }
  if (invalid.length > 0) {
    process.stderr.write(invalid.join('\n') + '\n');
    return EXIT.invalid;
  }
  if (repeat !== undefined) return gateRepeated(scenarios, repeat, { outDir: values.out, cleanupStale: values['cleanup-stale'] === true, seed, junit: values.junit });
  const journals: Journal[] = [];
  for (const { file, scenario } of scenarios) {
    const journal = await runAndReport(file, scenario, { outDir: values.out, cleanupStale: values['cleanup-stale'] === true, seed, quiet: false });
    recordInHistory(journal, 'gate');
    journals.push(journal);
  }
  if (values.junit) writeFileSync(values.junit, renderJunit(journals));
  for (const journal of journals) {
    process.stdout.write(`\n${journal.scenarioName}: ${journal.status}, ${journal.verdict.passed ? 'PASSED' : 'FAILED'} (${journal.runDir})\n`);
    for (const gate of journal.gates) process.stdout.write(`  ${gate.ok ? 'pass' : 'FAIL'}  ${gate.detail}\n`);
    for (const reason of journal.verdict.reasons.filter((r) => !r.startsWith('gate failed'))) process.stdout.write(`  FAIL  ${reason}\n`);
  }
  return exitCodeOf(journals);
}

/**
 * `moat gate --repeat N`: each scenario N times with seeds drawn (or `--seed`, `--seed`+1, ...),
 * every gate threshold judged on its pass rate: its 95% Wilson interval's lower bound must reach
 * the gate's `pass_rate >= X`, and a gate without one must pass in every run.
 */
async function gateRepeated(scenarios: { file: string; scenario: Scenario }[], repeat: number, options: { outDir: string; cleanupStale: boolean; seed: number | undefined; junit: string | undefined }): Promise<number> {
  const repeats: GateRepeat[] = [];
  let incomplete = false;
  for (const { file, scenario } of scenarios) {
    const journals: Journal[] = [];
    for (let i = 0; i < repeat; i++) {
      const seed = options.seed === undefined ? randomInt(0, 2 ** 32) : (options.seed + i) % 2 ** 32;
      process.stderr.write(`moat: ${scenario.name} run ${i + 1} of ${repeat}, seed ${seed}\n`);
      const journal = await runAndReport(file, scenario, { outDir: options.outDir, cleanupStale: options.cleanupStale, seed, quiet: false });
      recordInHistory(journal, 'gate');
      journals.push(journal);
      if (journal.status === 'interrupted') break;
    }
    incomplete ||= journals.some((j) => j.status !== 'completed');
    repeats.push(...summarizeRepeats(scenario, journals));
  }
  if (options.junit) writeFileSync(options.junit, renderRepeatJunit(repeats));
  for (const r of repeats) {
    const requirement = r.requiredPassRate === undefined ? 'all runs' : `pass_rate >= ${r.requiredPassRate}`;
    process.stdout.write(`${r.ok ? 'pass' : 'FAIL'}  ${r.scenario}: ${r.metric} ${r.threshold} passed ${r.passes}/${r.runs} (95% interval ${(100 * r.wilsonLow).toFixed(1)}-${(100 * r.wilsonHigh).toFixed(1)}%; needs ${requirement}); seeds ${r.seeds.join(', ')}\n`);
  }
  if (repeats.every((r) => r.ok)) return EXIT.ok;
  return incomplete && repeats.every((r) => r.ok || r.passes > 0) ? EXIT.runFailed : EXIT.failed;
}

async function reportCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, strict: true, options: { markdown: { type: 'boolean', default: false } } });
  if (positionals.length !== 1) throw new UsageError('moat report: expected one run folder');
  const runDir = positionals[0]!;
  if (!existsSync(join(runDir, 'journal.json'))) throw new UsageError(`moat report: ${runDir} has no journal.json`);
  if (values.markdown) {
    process.stdout.write(renderMarkdown(readJournal(runDir)));
    return EXIT.ok;
  }
  const written = writeReports(runDir);
  for (const path of Object.values(written)) process.stdout.write(`${path}\n`);
  return EXIT.ok;
}

async function bundleCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, strict: true, options: { out: { type: 'string' } } });
  if (positionals.length !== 1) throw new UsageError('moat bundle: expected one run folder');
  const runDir = positionals[0]!.replace(/\/+$/, '');
  if (!existsSync(join(runDir, 'journal.json'))) throw new UsageError(`moat bundle: ${runDir} has no journal.json`);
  if (!existsSync(join(runDir, 'report.html'))) writeReports(runDir);
  const { file, files } = await writeBundle(runDir, values.out ?? `${runDir}.tar.gz`);
  process.stdout.write(`${file} (${files} files and their SHA256SUMS manifest)\n`);
  return EXIT.ok;
}

async function verifyBundleCommand(args: string[]): Promise<number> {
  const { positionals } = parseArgs({ args, allowPositionals: true, strict: true });
  if (positionals.length !== 1) throw new UsageError('moat verify-bundle: expected one bundle file');
  const file = positionals[0]!;
  if (!existsSync(file) || !statSync(file).isFile()) throw new UsageError(`moat verify-bundle: ${file} is not a file`);
  const check = await verifyBundle(file);
  for (const problem of check.problems) process.stdout.write(`FAIL  ${problem}\n`);
  process.stdout.write(check.ok ? `ok: ${check.files} files match SHA256SUMS\n` : `${check.problems.length} problem${check.problems.length === 1 ? '' : 's'} in ${positionals[0]}\n`);
  return check.ok ? EXIT.ok : EXIT.failed;
}

async function cleanupCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, strict: true, options: { 'dry-run': { type: 'boolean', default: false }, 'state-dir': { type: 'string' } } });
  const stateDir = values['state-dir'] ?? defaultStateDir();
  const ledgers = listLedgers(stateDir);
  const stale = ledgers.filter((l) => !l.ownerAlive);
  for (const live of ledgers.filter((l) => l.ownerAlive)) {
    process.stdout.write(`run ${live.runId}: still running (pid ${live.ownerPid}); left alone\n`);
  }
  if (stale.length === 0) {
    process.stdout.write('nothing to clean up\n');
    return EXIT.ok;
  }
  let failures = 0;
  for (const ledger of stale) {
    process.stdout.write(`run ${ledger.runId || '?'}: ${ledger.outstanding.length} resources left behind${ledger.untrusted ? ` (ledger ${ledger.file} not trusted: ${ledger.untrusted})` : ''}\n`);
    // the dry run prints the very plan the real run carries out
    const plan = planCleanup(ledger, RESOURCE_HANDLERS);
    if (values['dry-run']) {
      for (const step of plan) process.stdout.write(step.refused ? `  would refuse ${step.key}: ${step.refused}\n` : `  would ${step.action} (${step.key})\n`);
      continue;
    }
    for (const step of await runCleanup(ledger, RESOURCE_HANDLERS, plan)) {
      if (!step.ok) failures++;
      process.stdout.write(`  ${step.ok ? 'ok' : 'FAILED'} ${step.key}: ${step.detail}\n`);
    }
  }
  return failures === 0 ? EXIT.ok : EXIT.runFailed;
}

// A reader that goes away (`moat run | head`, a CI runner killed under it) makes every later
// write fail with EPIPE. That must not become an error of the run: a run that lost its terminal
// still heals its faults and tears down, it just does so quietly.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE' && error.code !== 'ERR_STREAM_DESTROYED') throw error;
  });
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (error) {
  if (error instanceof InvalidScenarioError) {
    process.stderr.write(`${error.message}\n`);
    process.exitCode = EXIT.invalid;
  } else if (error instanceof StaleLedgerError) {
    process.stderr.write(`moat: ${error.message}\n`);
    process.exitCode = EXIT.invalid;
  } else if (error instanceof InvalidInputError) {
    // usage errors already name their command; other bad input gets moat's prefix
    process.stderr.write(`${error.message.startsWith('moat ') ? '' : 'moat: '}${error.message}\n`);
    process.exitCode = EXIT.invalid;
  } else if (error instanceof MoatError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
    process.stderr.write(`moat: ${errorMessage(error)}\n`);
    process.exitCode = (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS') ? EXIT.invalid : EXIT.runFailed;
  } else {
    process.stderr.write(`moat: unexpected error: ${(error as Error).stack ?? String(error)}\n`);
    process.exitCode = EXIT.runFailed;
  }
}
