/**
 * One error family for everything moat reports to a user. Messages say what was
 * expected, what was seen, and the limit that was hit.
 */
export class MoatError extends Error {
  override name = 'MoatError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** One problem found in a scenario file, located by its YAML path and line. */
export interface ScenarioProblem {
  /** Dotted path into the document, e.g. `faults[0].duration`. */
  path: string;
  /** 1-based line in the file, when the node exists in the source. */
  line?: number;
  message: string;
}

export class InvalidScenarioError extends MoatError {
  override name = 'InvalidScenarioError';
  readonly file: string;
  readonly problems: readonly ScenarioProblem[];
  constructor(file: string, problems: readonly ScenarioProblem[]) {
    super(`${file}: ${problems.length} problem${problems.length === 1 ? '' : 's'}\n` + problems.map((p) => '  ' + formatProblem(file, p)).join('\n'));
    this.file = file;
    this.problems = problems;
  }
}

export function formatProblem(file: string, problem: ScenarioProblem): string {
  const where = problem.line === undefined ? file : `${file}:${problem.line}`;
  return `${where} ${problem.path || '(root)'}: ${problem.message}`;
}

/**
 * Bad input from outside moat (a file, a flag, a folder) that is not a scenario: the command
 * exits 2 with this one line, never a stack trace.
 */
export class InvalidInputError extends MoatError {
  override name = 'InvalidInputError';
}

export class TwinError extends MoatError {
  override name = 'TwinError';
}

export class InjectionError extends MoatError {
  override name = 'InjectionError';
}

export class HealError extends MoatError {
  override name = 'HealError';
}

/** A run refused to start because an earlier run left resources behind. */
export class StaleLedgerError extends MoatError {
  override name = 'StaleLedgerError';
}

export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}
