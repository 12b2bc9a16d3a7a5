import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The part of node:test's TestContext that cleanup needs (so benchmarks can pass their own). */
export interface Cleanup {
  after(fn: () => unknown): void;
}

/**
 * A fresh folder under the temp directory that is removed when the test ends, whatever its
 * outcome: every test removes what it creates.
 */
export function tempDir(t: Cleanup, prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), `moat-${prefix}-`));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}
