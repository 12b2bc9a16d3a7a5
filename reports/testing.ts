import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Journal } from '../core/journal.ts';
import { tempDir, type Cleanup } from '../core/testing.ts';

/**
 * A copy of the recorded run in reports/fixtures/etcd-split-brain (the journal and watched
 * series of a real demo run on this machine) in a fresh folder, optionally with the journal
 * changed, for report tests that must not touch the committed fixture. Removed when the test ends.
 */
export function fixtureRun(t: Cleanup, change?: (journal: Journal) => void): { dir: string; journal: Journal } {
  const dir = tempDir(t, 'report');
  cpSync(new URL('./fixtures/etcd-split-brain', import.meta.url).pathname, dir, { recursive: true });
  const journal = JSON.parse(readFileSync(join(dir, 'journal.json'), 'utf8')) as Journal;
  if (change) {
    change(journal);
    writeFileSync(join(dir, 'journal.json'), JSON.stringify(journal, null, 2));
  }
  return { dir, journal };
}
