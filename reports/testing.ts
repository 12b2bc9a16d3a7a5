import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Journal } from '../core/journal.ts';

/**
 * A copy of the recorded run in reports/fixtures/etcd-split-brain (the journal and watched
 * series of a real demo run on this machine) in a fresh folder, optionally with the journal
 * changed, for report tests that must not touch the committed fixture.
 */
export function fixtureRun(change?: (journal: Journal) => void): { dir: string; journal: Journal } {
  const dir = mkdtempSync(join(tmpdir(), 'moat-report-'));
  cpSync(new URL('./fixtures/etcd-split-brain', import.meta.url).pathname, dir, { recursive: true });
  const journal = JSON.parse(readFileSync(join(dir, 'journal.json'), 'utf8')) as Journal;
  if (change) {
    change(journal);
    writeFileSync(join(dir, 'journal.json'), JSON.stringify(journal, null, 2));
  }
  return { dir, journal };
}
