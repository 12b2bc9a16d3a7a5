import { spawn } from 'node:child_process';
import { MoatError } from './errors.ts';

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs a program to completion and returns its output. Rejects with a message
 * naming the command and its stderr when it exits non-zero (unless `allowFailure`).
 */
export function run(command: string, args: readonly string[], options: { allowFailure?: boolean; input?: string; timeoutMs?: number; cwd?: string } = {}): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'], ...(options.cwd ? { cwd: options.cwd } : {}) });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    const timer = options.timeoutMs === undefined ? undefined : setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, options.timeoutMs);
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(new MoatError(`could not start ${command}: ${error.message}`, { cause: error }));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const result = { code: code ?? (signal ? 128 : 1), stdout, stderr };
      if (timedOut) result.stderr += `\n(killed after ${options.timeoutMs} ms)`;
      if (result.code !== 0 && !options.allowFailure) {
        reject(new MoatError(`${command} ${args.join(' ')} exited ${result.code}: ${(result.stderr || result.stdout).trim()}`));
      } else {
        resolve(result);
      }
    });
    if (options.input !== undefined && child.stdin) {
      child.stdin.on('error', () => { /* the exit code tells what happened */ });
      child.stdin.end(options.input);
    }
  });
}

/** Whether a program is on PATH. */
export async function which(program: string): Promise<string | undefined> {
  const result = await run('sh', ['-c', `command -v ${program}`], { allowFailure: true });
  return result.code === 0 ? result.stdout.trim() : undefined;
}

/** The version a program prints (the first group of `pattern` that matched), or 'not installed'. */
export async function programVersion(command: string, args: readonly string[], pattern: RegExp): Promise<string> {
  const result = await run(command, args, { allowFailure: true, timeoutMs: 10_000 }).catch(() => undefined);
  const match = result && pattern.exec(result.stdout + result.stderr);
  return match ? (match.slice(1).find((g) => g !== undefined) ?? 'unknown') : 'not installed';
}
