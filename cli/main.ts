import { parseArgs } from 'node:util';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { InvalidScenarioError, MoatError, StaleLedgerError, errorMessage } from '../core/errors.ts';
import { loadScenarioFile } from '../runner/scenario/index.ts';
import { describePlan, runScenario, readJournal, runLengthMs } from '../runner/run.ts';
import { listLedgers, cleanupLedger, defaultStateDir } from '../runner/ledger.ts';
import { progressObserver } from '../runner/observers.ts';
import { renderMarkdown } from '../reports/markdown.ts';
import { formatMs } from '../core/units.ts';
import { doctor } from './doctor.ts';

/** Exit codes, shared by every command: 0 pass, 1 a gate or verdict failed, 2 invalid input, 3 the run itself failed. */
export const EXIT = { ok: 0, failed: 1, invalid: 2, runFailed: 3 } as const;

const USAGE = `moat - chaos runs on a digital twin, scored against exact fault ground truth

usage:
  moat run <scenario.yaml> [--out DIR] [--seed N] [--dry-run] [--cleanup-stale] [--json]
  moat validate <scenario.yaml>...
  moat report <run-dir>
  moat cleanup [--dry-run]
  moat doctor

exit codes: 0 passed, 1 a gate failed, 2 invalid input, 3 the run itself failed
`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'run': return runCommand(rest);
    case 'validate': return validateCommand(rest);
    case 'report': return reportCommand(rest);
    case 'cleanup': return cleanupCommand(rest);
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
  const { positionals } = parseArgs({ args, allowPositionals: true, strict: true });
  if (positionals.length === 0) {
    process.stderr.write('moat validate: expected one or more scenario files\n');
    return EXIT.invalid;
  }
  let failed = 0;
  for (const file of positionals) {
    try {
      const scenario = await loadScenarioFile(file);
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
    },
  });
  if (positionals.length !== 1) {
    process.stderr.write('moat run: expected exactly one scenario file\n');
    return EXIT.invalid;
  }
  const file = positionals[0]!;
  let seed: number | undefined;
  if (values.seed !== undefined) {
    seed = Number(values.seed);
    if (!Number.isInteger(seed) || seed < 0 || seed >= 2 ** 32) {
      process.stderr.write(`moat run: --seed expects an integer in [0, 2^32), saw ${JSON.stringify(values.seed)}\n`);
      return EXIT.invalid;
    }
  }
  const scenario = await loadScenarioFile(file);
  if (values['dry-run']) {
    process.stdout.write(`plan for ${scenario.name} (seed ${seed ?? scenario.seed ?? 'drawn at start'}, ${formatMs(runLengthMs(scenario))} observed):\n`);
    for (const line of describePlan(scenario)) process.stdout.write(`  - ${line}\n`);
    return EXIT.ok;
  }
  const journal = await runScenario(scenario, {
    scenarioFile: file, outDir: values.out, cleanupStale: values['cleanup-stale'] === true,
    ...(seed === undefined ? {} : { seed }),
    observers: values.json ? [] : [progressObserver()],
  });
  const markdown = renderMarkdown(journal);
  writeFileSync(join(journal.runDir, 'summary.md'), markdown);
  process.stdout.write(values.json ? JSON.stringify(journal, null, 2) + '\n' : markdown);
  if (journal.status !== 'completed') return EXIT.runFailed;
  return journal.verdict.passed ? EXIT.ok : EXIT.failed;
}

async function reportCommand(args: string[]): Promise<number> {
  const { positionals } = parseArgs({ args, allowPositionals: true, strict: true });
  if (positionals.length !== 1) {
    process.stderr.write('moat report: expected one run folder\n');
    return EXIT.invalid;
  }
  process.stdout.write(renderMarkdown(readJournal(positionals[0]!)));
  return EXIT.ok;
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
    process.stdout.write(`run ${ledger.runId}: ${ledger.outstanding.length} resources left behind\n`);
    if (values['dry-run']) {
      for (const { key } of ledger.outstanding) process.stdout.write(`  would undo ${key}\n`);
      continue;
    }
    for (const step of await cleanupLedger(ledger)) {
      if (!step.ok) failures++;
      process.stdout.write(`  ${step.ok ? 'ok' : 'FAILED'} ${step.key}: ${step.detail}\n`);
    }
  }
  return failures === 0 ? EXIT.ok : EXIT.runFailed;
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
  } else if (error instanceof MoatError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
    process.stderr.write(`moat: ${errorMessage(error)}\n`);
    process.exitCode = (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS') ? EXIT.invalid : EXIT.runFailed;
  } else {
    process.stderr.write(`moat: unexpected error: ${(error as Error).stack ?? String(error)}\n`);
    process.exitCode = EXIT.runFailed;
  }
}
