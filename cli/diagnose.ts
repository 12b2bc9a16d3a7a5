import { parseArgs } from 'node:util';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readJournal } from '../core/journal-file.ts';
import { readSeriesFile } from '../core/series-file.ts';
import { InvalidInputError } from '../core/errors.ts';
import { parseDurationMs, formatMs } from '../core/units.ts';
import type { Diagnosis } from '../core/journal.ts';
import { diagnoseRun } from '../diagnose/index.ts';

/** The facts of a diagnosis that must come out the same from the same folder (not its timing). */
function verdicts(d: Diagnosis): string {
  return JSON.stringify(d.faults.map(({ faultId, ttlMs, top1, top3, causeCorrect, hypotheses }) => ({ faultId, ttlMs, top1, top3, causeCorrect, top: hypotheses.map((h) => [h.component.id, h.cause]) })));
}

/**
 * `moat diagnose <run-dir>`: localizes every fault of a finished run again from its journal and
 * saved series, with no twin, scores it against the truth, and says whether it matches what the
 * run itself recorded. `--window` changes the evidence window; `--out` writes the diagnosis JSON.
 */
export async function diagnoseCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, strict: true, options: { json: { type: 'boolean', default: false }, window: { type: 'string' }, out: { type: 'string' } } });
  if (positionals.length !== 1) throw new InvalidInputError('moat diagnose: expected one run folder');
  const runDir = positionals[0]!;
  if (!existsSync(join(runDir, 'journal.json'))) throw new InvalidInputError(`moat diagnose: ${runDir} has no journal.json`);
  const journal = readJournal(runDir);
  const series = readSeriesFile(join(runDir, journal.series.file));
  const windowMs = values.window === undefined ? undefined : parseDurationMs(values.window);
  if (values.window !== undefined && (windowMs === undefined || windowMs < 1000 || windowMs > 3_600_000)) throw new InvalidInputError(`moat diagnose: --window expects a duration from 1s to 1h, e.g. 30s (saw ${JSON.stringify(values.window)})`);
  const diagnosis = diagnoseRun(journal, series, windowMs === undefined ? {} : { windowMs });
  if (values.out) writeFileSync(values.out, `${JSON.stringify(diagnosis, null, 2)}\n`);
  if (values.json) {
    process.stdout.write(`${JSON.stringify(diagnosis, null, 2)}\n`);
    return 0;
  }
  const lines = [`${journal.scenarioName} (run ${journal.runId}): ${diagnosis.faults.length} fault${diagnosis.faults.length === 1 ? '' : 's'} localized in ${diagnosis.elapsedMs} ms, evidence window ${formatMs(diagnosis.windowMs)}`];
  for (const f of diagnosis.faults) {
    lines.push('', `${f.faultId}: it was ${f.truth.join(', ')} (${f.truthCause}); top-1 ${f.top1 ? 'right' : 'WRONG'}, top-3 ${f.top3 ? 'right' : 'WRONG'}, cause ${f.causeCorrect ? 'right' : 'wrong'}, time to localize ${f.ttlMs === null ? 'never' : formatMs(f.ttlMs)}`);
    f.hypotheses.forEach((h, i) => {
      lines.push(`  ${i + 1}. ${h.component.id} (${h.component.kind}): ${h.cause}, confidence ${Math.round(h.confidence * 100)}%`);
      for (const evidence of h.evidence) lines.push(`       ${evidence}`);
    });
  }
  if (journal.diagnosis && windowMs === undefined) {
    lines.push('', verdicts(journal.diagnosis) === verdicts(diagnosis) ? 'Matches the diagnosis the run recorded.' : 'DIFFERS from the diagnosis the run recorded (a different moat version?).');
  }
  process.stdout.write(`${lines.join('\n')}\n`);
  return 0;
}
