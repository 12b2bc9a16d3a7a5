import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

const cli = join(new URL('../..', import.meta.url).pathname, 'cli/main.ts');

/** A `moat` command started as its own process, for tests that kill it or read what it prints. */
export interface Started {
  child: ChildProcess;
  stdout: string[];
  stderr: string[];
  exited: Promise<number | null>;
  waitFor(pattern: RegExp, timeoutMs: number): Promise<void>;
}

export function startMoat(args: string[], env: Record<string, string>): Started {
  const child = spawn(process.execPath, [cli, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const stdout: string[] = [];
  const stderr: string[] = [];
  child.stdout!.setEncoding('utf8').on('data', (d: string) => stdout.push(d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => stderr.push(d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return {
    child, stdout, stderr, exited,
    async waitFor(pattern, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      while (!pattern.test(stderr.join(''))) {
        if (Date.now() > deadline) throw new Error(`no ${pattern} within ${timeoutMs} ms; stderr: ${stderr.join('')}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    },
  };
}

/** A short etcd scenario whose partition lasts long enough to kill moat in the middle of it. */
export function longFaultScenario(backend: 'netns' | 'containers'): string {
  return `name: long-fault
seed: 3
twin: { backend: ${backend}, services: { etcd: { kind: etcd, replicas: 3 } } }
load: [{ name: kv, kind: etcd-kv, target: etcd, rate: 50/s }]
baseline: { warmup: 3s }
faults: [{ id: cut, type: partition, mode: isolate, target: etcd.leader, at: 3s, duration: 120s }]
recovery: 2s
`;
}
