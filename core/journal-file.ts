import { join } from 'node:path';
import * as z from 'zod';
import { InvalidInputError } from './errors.ts';
import { readRegularFile, writeFileNoFollow } from './files.ts';
import { CAUSE_KINDS, RUN_PHASES, type Journal } from './journal.ts';
import type { Scenario } from './scenario.ts';

/** journal.json is read back by `moat report`, `moat bundle` and baselines: this is its one reader. */
export const JOURNAL_FILE = 'journal.json';
/** A journal larger than this is not one moat wrote (a 30-minute run's is a few MB). */
export const MAX_JOURNAL_BYTES = 256 * 1024 * 1024;

/** A journal.json that is missing, unreadable, or not in the shape moat writes. */
export class InvalidJournalError extends InvalidInputError {
  override name = 'InvalidJournalError';
}

const finite = z.number().refine(Number.isFinite, { error: 'expected a finite number' });
const time = finite;
const maybeTime = finite.nullable();
const evidence = z.looseObject({ t: time, kind: z.enum(['probe', 'counter', 'leader', 'ebpf', 'note']), ok: z.boolean(), detail: z.string() });
const cause = z.enum(CAUSE_KINDS);
const timelineEvent = z.union([
  z.looseObject({ t: time, kind: z.literal('leader-change'), detail: z.string(), service: z.string(), partition: z.string().optional(), from: z.string().nullable(), to: z.string().nullable(), term: z.number().optional() }),
  z.looseObject({ t: time, kind: z.literal('config-write'), detail: z.string(), service: z.string(), key: z.string(), revision: z.number() }),
  z.looseObject({ t: time, kind: z.enum(['phase', 'fault-applied', 'fault-verified', 'fault-healed', 'fault-failed', 'alarm', 'process-exit', 'target-wait']), detail: z.string() }),
  // journals written before leader changes carried their fields: read from the sentence they printed
  z.looseObject({ t: time, kind: z.literal('leader-change'), detail: z.string() }).transform((e) => {
    const match = /^(\S+?)(?: (\S+))?: (\S+) -> (\S+)(?: \(term (\d+)\))?/.exec(e.detail);
    const name = (text: string | undefined) => (text === undefined || text === 'none' ? null : text);
    return {
      ...e, service: match?.[1] ?? '', from: name(match?.[3]), to: name(match?.[4]),
      ...(match?.[2] ? { partition: match[2] } : {}), ...(match?.[5] ? { term: Number(match[5]) } : {}),
    };
  }),
]);
const alarm = z.looseObject({ detector: z.string(), series: z.string(), t: time, score: z.number() });
const detection = z.looseObject({ faultId: z.string(), detector: z.string(), series: z.string().optional(), ttdMs: maybeTime, alarm: alarm.optional() });
const nab = z.looseObject({ standard: z.number(), reward_low_fp: z.number(), reward_low_fn: z.number() });

/**
 * The shape of journal.json as reports read it: every field they use, with its type. Extra keys
 * are allowed (a newer moat may add some); a missing or mistyped one is an error naming its path.
 */
const journalSchema = z.looseObject({
  moatVersion: z.string(),
  runId: z.string().regex(/^[0-9a-f]{6}$/, { error: 'expected a 6-hex-digit run id' }),
  scenarioFile: z.string(),
  scenarioName: z.string(),
  description: z.string().optional(),
  seed: z.number().int(),
  status: z.enum(['running', 'completed', 'failed', 'aborted', 'interrupted']),
  /** journals from before phases were recorded have none: they were written when the run was done */
  phase: z.enum(RUN_PHASES).default('done'),
  /** the scenario as validated when the run started; reports read only its name and plan, which the journal also holds */
  scenario: z.custom<Scenario>((value) => value !== null && typeof value === 'object' && !Array.isArray(value), { error: 'expected the scenario as a mapping' }),
  startedAt: z.string(),
  endedAt: z.string(),
  clockZero: z.string().nullable(),
  durationMs: finite,
  runDir: z.string(),
  versions: z.record(z.string(), z.string()),
  bpf: z.looseObject({ enabled: z.boolean(), probes: z.array(z.string()), attachedProbes: z.number().optional(), reason: z.string().optional() }),
  trace: z.looseObject({ file: z.string(), spans: z.number(), exported: z.boolean() }),
  otlp: z.looseObject({ url: z.string().nullable(), spans: z.number(), errorSpans: z.number(), droppedSpans: z.number(), metricPoints: z.number() }),
  plan: z.array(z.string()),
  activities: z.array(z.looseObject({ name: z.string(), start: z.string(), end: z.string(), durationMs: finite, status: z.enum(['succeeded', 'failed']), error: z.string().optional() })),
  faults: z.array(z.looseObject({
    id: z.string(), type: z.string(), description: z.string(), target: z.string().nullable(), hosts: z.array(z.string()),
    scheduledAt: time, appliedAt: maybeTime, healedAt: maybeTime,
    verified: z.looseObject({ ok: z.boolean(), evidence: z.array(evidence) }),
    leaderChange: z.looseObject({ from: z.string().nullable(), to: z.string(), afterMs: finite }).optional(),
    recoveryMs: maybeTime, error: z.string().optional(),
  })),
  timeline: z.array(timelineEvent),
  randomChoices: z.array(z.looseObject({ what: z.string(), options: z.array(z.string()), chosen: z.string() })),
  series: z.looseObject({ file: z.string(), count: z.number(), watched: z.array(z.string()) }),
  warmupEndsAt: z.number(),
  runEndsAt: z.number().nullable(),
  detectors: z.array(z.string()),
  baselineSources: z.array(z.string()),
  detectorErrors: z.array(z.looseObject({ detector: z.string(), series: z.string(), error: z.string() })),
  graceMs: finite,
  alarms: z.array(alarm),
  detections: z.array(detection),
  seriesDetections: z.array(detection),
  falseAlarms: z.array(alarm),
  detectorScores: z.array(z.looseObject({
    detector: z.string(), faults: z.number(), detected: z.number(), detectionRate: z.number(), missed: z.number(), medianTtdMs: z.number().nullable(),
    falseAlarms: z.number(), falseAlarmsPerHour: z.number(), nab, nabNormalized: nab,
  })),
  load: z.array(z.looseObject({
    name: z.string(), requests: z.number(), errors: z.number(), availability: z.number(), ackedWrites: z.number(), lostWrites: z.number(),
    lostKeys: z.array(z.string()), indeterminateApplied: z.number(), scheduleLagP99Ms: z.number(), readBackError: z.string().optional(),
    byOp: z.record(z.string(), z.looseObject({ requests: z.number(), errors: z.number(), p50Ms: z.number().nullable(), p99Ms: z.number().nullable(), maxMs: z.number().nullable() })),
  })),
  gates: z.array(z.looseObject({ metric: z.string(), threshold: z.string(), actual: z.number().nullable(), ok: z.boolean(), detail: z.string() })),
  verdict: z.looseObject({ passed: z.boolean(), reasons: z.array(z.string()) }),
  cleanup: z.looseObject({ ok: z.boolean(), leftovers: z.array(z.string()) }),
  diagnosis: z.looseObject({
    windowMs: finite, elapsedMs: finite,
    faults: z.array(z.looseObject({
      faultId: z.string(), truth: z.array(z.string()), truthCause: cause, ttlMs: maybeTime, top1: z.boolean(), top3: z.boolean(), causeCorrect: z.boolean(),
      hypotheses: z.array(z.looseObject({ component: z.looseObject({ id: z.string(), kind: z.enum(['member', 'service', 'link']) }), cause, confidence: finite, evidence: z.array(z.string()) })),
      path: z.array(z.looseObject({ t: time, component: z.string(), cause })),
    })),
  }).optional(),
  error: z.string().optional(),
});

/** Checks parsed JSON against the journal's shape; the error names the first problems by path. */
export function parseJournal(raw: unknown, where: string): Journal {
  const parsed = journalSchema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.slice(0, 3).map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    const more = parsed.error.issues.length > 3 ? ` (and ${parsed.error.issues.length - 3} more)` : '';
    throw new InvalidJournalError(`${where} is not a moat journal: ${problems.join('; ')}${more}`);
  }
  const journal: Journal = parsed.data;
  return journal;
}

/** Reads and checks `<runDir>/journal.json`: a regular file of bounded size, in the journal's shape. */
export function readJournal(runDir: string): Journal {
  const file = join(runDir, JOURNAL_FILE);
  let text: string;
  try {
    text = readRegularFile(file, MAX_JOURNAL_BYTES);
  } catch (error) {
    throw new InvalidJournalError(`${runDir} has no readable ${JOURNAL_FILE}: ${(error as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new InvalidJournalError(`${file} is not JSON: ${(error as Error).message}`);
  }
  return parseJournal(raw, file);
}

export function writeJournal(runDir: string, journal: Journal): void {
  writeFileNoFollow(join(runDir, JOURNAL_FILE), JSON.stringify(journal, null, 2) + '\n');
}
