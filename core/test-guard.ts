import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { procStat } from './proc.ts';

/**
 * The suite's guard (`node --test --test-global-setup=core/test-guard.ts`): every test removes
 * what it creates. What moat makes carries `moat` in its name; anything of that kind that exists
 * after the suite and did not exist before it was left behind by a test, and fails the run.
 */
function moatLeftovers(): Set<string> {
  const found = new Set<string>();
  // the temp folder, /dev/shm, and the cgroups a run gives its hosts (cgroup v1 cpu and memory)
  for (const dir of [tmpdir(), '/dev/shm', '/sys/fs/cgroup/cpu', '/sys/fs/cgroup/memory']) {
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
  // containers and networks of the containers backend (labelled with their run id)
  for (const [what, args] of [['container', ['ps', '-a', '--filter', 'label=moat.run', '--format', '{{.Names}}']], ['network', ['network', 'ls', '--filter', 'label=moat.run', '--format', '{{.Name}}']]] as const) {
    try {
      for (const name of execFileSync('docker', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 20_000 }).split('\n')) if (name) found.add(`${what} ${name}`);
    } catch {
      // no engine: nothing of the kind to leave behind
    }
  }
  return found;
}

let before = new Set<string>();

export function globalSetup(): void {
  before = moatLeftovers();
}

/** The run id a leftover's name carries (`moat-<id>…`, `mb-<id>`, `mv-<id>-N`). */
export function runIdOf(entry: string): string | undefined {
  return /(?:moat|mb|mv)-([0-9a-f]{6})(?:-|$)/.exec(entry.slice(entry.lastIndexOf(' ') + 1).split('/').pop() ?? '')?.[1];
}

/**
 * Whether a run belongs to another moat on this machine (a `moat serve`, a benchmark) rather than
 * to the suite: its processes (in its namespaces, or naming it on their command line) descend
 * from a live process outside the suite's tree. A process the suite left running is orphaned to
 * init, so it still counts against the suite.
 */
export function ownedElsewhere(runId: string, left: readonly string[]): boolean {
  const pids = new Set<number>();
  for (const entry of left) {
    if (!entry.startsWith('netns ') || runIdOf(entry) !== runId) continue;
    try {
      for (const pid of execFileSync('ip', ['netns', 'pids', entry.slice('netns '.length)], { encoding: 'utf8' }).split('\n')) if (Number(pid) > 1) pids.add(Number(pid));
    } catch { /* gone meanwhile */ }
  }
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (readFileSync(`/proc/${name}/cmdline`, 'utf8').includes(`moat-${runId}`)) pids.add(Number(name));
    } catch { /* gone meanwhile */ }
  }
  if (pids.size === 0) return false;
  const parentOf = (pid: number) => procStat(pid)?.ppid ?? 0;
  return [...pids].every((pid) => {
    let parent = parentOf(pid);
    if (parent <= 1) return false;
    for (let hops = 0; parent > 1 && hops < 64; hops++) {
      if (parent === process.pid) return false;
      parent = parentOf(parent);
    }
    return true;
  });
}

export function globalTeardown(): void {
  const fresh = [...moatLeftovers()].filter((entry) => !before.has(entry));
  const foreign = new Set([...new Set(fresh.map(runIdOf))].filter((id): id is string => id !== undefined && ownedElsewhere(id, fresh)));
  const left = fresh.filter((entry) => !foreign.has(runIdOf(entry) ?? ''));
  if (foreign.size > 0) process.stderr.write(`\ntest guard: runs ${[...foreign].join(', ')} belong to another moat on this machine (their processes descend from outside the suite), not counted\n`);
  if (left.length === 0) return;
  process.stderr.write(`\ntest guard: the suite left ${left.length} thing${left.length === 1 ? '' : 's'} behind (every test removes what it creates):\n${left.map((l) => `  ${l}`).join('\n')}\n`);
  process.exitCode = 1;
}
