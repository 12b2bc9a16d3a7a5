import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * The suite's guard (`node --test --test-global-setup=core/test-guard.ts`): every test removes
 * what it creates. What moat makes carries `moat` in its name; anything of that kind that exists
 * after the suite and did not exist before it was left behind by a test, and fails the run.
 */
function moatLeftovers(): Set<string> {
  const found = new Set<string>();
  for (const dir of [tmpdir(), '/dev/shm']) {
    if (!existsSync(dir)) continue;
    for (const name of readdirSync(dir)) if (name.startsWith('moat-')) found.add(join(dir, name));
  }
  try {
    for (const line of execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' }).split('\n')) {
      const name = line.split(' ')[0];
      if (name?.startsWith('moat-')) found.add(`netns ${name}`);
    }
    for (const line of execFileSync('ip', ['-o', 'link'], { encoding: 'utf8' }).split('\n')) {
      const name = /^\d+: ([^:@]+)/.exec(line)?.[1];
      if (name && /^m[bv]-[0-9a-f]{6}/.test(name)) found.add(`link ${name}`);
    }
  } catch {
    // without iproute2 there are no namespaces to leave behind
  }
  return found;
}

let before = new Set<string>();

export function globalSetup(): void {
  before = moatLeftovers();
}

export function globalTeardown(): void {
  const left = [...moatLeftovers()].filter((entry) => !before.has(entry));
  if (left.length === 0) return;
  process.stderr.write(`\ntest guard: the suite left ${left.length} thing${left.length === 1 ? '' : 's'} behind (every test removes what it creates):\n${left.map((l) => `  ${l}`).join('\n')}\n`);
  process.exitCode = 1;
}
