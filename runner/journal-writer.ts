import { renameSync } from 'node:fs';
import { join } from 'node:path';
import type { Journal } from '../core/journal.ts';
import { JOURNAL_FILE } from '../core/journal-file.ts';
import { writeFileNoFollow } from '../core/files.ts';
import type { RunObserver } from './observers.ts';

/**
 * Writes journal.json at every phase of a run, so a run killed at any point (even with SIGKILL)
 * leaves a journal whose `status` is `running` and whose `phase` says how far it got. Each write
 * goes to a temporary file first and is renamed over the journal: a kill mid-write never leaves a
 * torn one.
 */
export class JournalWriter {
  readonly #file: string;
  readonly #journal: Journal;

  constructor(runDir: string, journal: Journal) {
    this.#file = join(runDir, JOURNAL_FILE);
    this.#journal = journal;
  }

  write(): void {
    const temporary = `${this.#file}.${process.pid}.tmp`;
    writeFileNoFollow(temporary, JSON.stringify(this.#journal, null, 2) + '\n');
    renameSync(temporary, this.#file);
  }

  /** An observer that writes the journal whenever a phase begins and when the run ends. */
  observer(): RunObserver {
    return {
      phase: () => this.write(),
      end: () => this.write(),
    };
  }
}
