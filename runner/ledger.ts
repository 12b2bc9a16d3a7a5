import { appendFileSync, mkdirSync, readdirSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { run } from '../core/exec.ts';
import { errorMessage } from '../core/errors.ts';
import { procStat } from '../core/proc.ts';

/**
 * Every resource a run creates, written down before it is created and struck off after it is
 * gone. The file is append-only JSON lines, so a run killed with SIGKILL still leaves a complete
 * record, and `moat cleanup` can undo exactly what the run made and nothing else.
 */
export type Resource =
  | { kind: 'netns'; name: string }
  | { kind: 'link'; name: string }
  | { kind: 'nft-table'; netns: string; family: 'inet'; name: string }
  | { kind: 'process'; name: string; netns?: string; pid?: number; startTime?: string }
  | { kind: 'dir'; path: string };

type Entry =
  | { op: 'open'; runId: string; pid: number; pidStartTime: string; startedAt: string; runDir?: string }
  | { op: 'add'; key: string; resource: Resource }
  | { op: 'update'; key: string; resource: Resource }
  | { op: 'remove'; key: string };

export function resourceKey(resource: Resource): string {
  switch (resource.kind) {
    case 'netns': return `netns:${resource.name}`;
    case 'link': return `link:${resource.name}`;
    case 'nft-table': return `nft:${resource.netns}:${resource.family}:${resource.name}`;
    case 'process': return `process:${resource.netns ?? ''}:${resource.name}`;
    case 'dir': return `dir:${resource.path}`;
  }
}

export function defaultStateDir(): string {
  return process.env.MOAT_STATE_DIR ?? '/var/lib/moat';
}

/** The kernel's start time of a process, to tell a pid from its reuse. */
export function processStartTime(pid: number): string | undefined {
  return procStat(pid)?.startTime;
}

export class Ledger {
  readonly runId: string;
  readonly file: string;
  readonly #outstanding = new Map<string, Resource>();

  private constructor(runId: string, file: string) {
    this.runId = runId;
    this.file = file;
  }

  static open(runId: string, options: { stateDir?: string; runDir?: string } = {}): Ledger {
    const dir = join(options.stateDir ?? defaultStateDir(), 'ledger');
    mkdirSync(dir, { recursive: true });
    const ledger = new Ledger(runId, join(dir, `${runId}.jsonl`));
    ledger.#append({ op: 'open', runId, pid: process.pid, pidStartTime: processStartTime(process.pid) ?? '', startedAt: new Date().toISOString(), ...(options.runDir ? { runDir: options.runDir } : {}) });
    return ledger;
  }

  /** Records a resource that is about to be created. Returns its key. */
  add(resource: Resource): string {
    const key = resourceKey(resource);
    this.#outstanding.set(key, resource);
    this.#append({ op: 'add', key, resource });
    return key;
  }

  /** Adds what was learnt after creation (a pid). */
  update(key: string, resource: Resource): void {
    this.#outstanding.set(key, resource);
    this.#append({ op: 'update', key, resource });
  }

  /** Strikes off a resource that is gone. */
  remove(key: string): void {
    if (!this.#outstanding.delete(key)) return;
    this.#append({ op: 'remove', key });
  }

  outstanding(): Resource[] {
    return [...this.#outstanding.values()];
  }

  /** Removes the ledger file when nothing is outstanding; otherwise it stays for `moat cleanup`. */
  close(): boolean {
    if (this.#outstanding.size > 0) return false;
    rmSync(this.file, { force: true });
    return true;
  }

  #append(entry: Entry): void {
    appendFileSync(this.file, JSON.stringify(entry) + '\n');
  }
}

export interface LedgerFile {
  file: string;
  runId: string;
  ownerPid: number;
  ownerAlive: boolean;
  runDir?: string;
  outstanding: { key: string; resource: Resource }[];
}

export function readLedgerFile(file: string): LedgerFile {
  const outstanding = new Map<string, Resource>();
  let open: Extract<Entry, { op: 'open' }> | undefined;
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    let entry: Entry;
    try {
      entry = JSON.parse(line) as Entry;
    } catch {
      continue; // a line torn by a crash mid-write: the resources before it are still listed
    }
    if (entry.op === 'open') open = entry;
    else if (entry.op === 'add' || entry.op === 'update') outstanding.set(entry.key, entry.resource);
    else outstanding.delete(entry.key);
  }
  const ownerPid = open?.pid ?? 0;
  const ownerAlive = ownerPid > 0 && processStartTime(ownerPid) === open?.pidStartTime;
  return {
    file, runId: open?.runId ?? '', ownerPid, ownerAlive,
    ...(open?.runDir ? { runDir: open.runDir } : {}),
    outstanding: [...outstanding].map(([key, resource]) => ({ key, resource })),
  };
}

export function listLedgers(stateDir = defaultStateDir()): LedgerFile[] {
  const dir = join(stateDir, 'ledger');
  if (!existsSync(dir)) return [];
  return readdirSync(dir).filter((f) => f.endsWith('.jsonl')).map((f) => readLedgerFile(join(dir, f)));
}

/** Ledgers whose run is no longer alive. */
export function staleLedgers(stateDir = defaultStateDir()): LedgerFile[] {
  return listLedgers(stateDir).filter((l) => !l.ownerAlive);
}

export interface CleanupStep {
  key: string;
  ok: boolean;
  detail: string;
}

/**
 * Undoes every outstanding resource of a ledger, newest first, and deletes the ledger when all
 * are gone. Each step is idempotent: a resource that is already gone counts as cleaned.
 */
export async function cleanupLedger(ledger: LedgerFile): Promise<CleanupStep[]> {
  const steps: CleanupStep[] = [];
  for (const { key, resource } of [...ledger.outstanding].reverse()) {
    try {
      steps.push({ key, ok: true, detail: await undo(resource) });
    } catch (error) {
      steps.push({ key, ok: false, detail: errorMessage(error) });
    }
  }
  if (steps.every((s) => s.ok)) rmSync(ledger.file, { force: true });
  return steps;
}

async function undo(resource: Resource): Promise<string> {
  switch (resource.kind) {
    case 'process': {
      if (resource.pid === undefined) return 'never started';
      if (processStartTime(resource.pid) !== resource.startTime) return `pid ${resource.pid} already gone`;
      process.kill(resource.pid, 'SIGKILL');
      return `killed pid ${resource.pid}`;
    }
    case 'nft-table': {
      if (!(await netnsExists(resource.netns))) return 'namespace already gone';
      const result = await run('ip', ['netns', 'exec', resource.netns, 'nft', 'delete', 'table', resource.family, resource.name], { allowFailure: true });
      if (result.code !== 0 && !/No such file|does not exist/i.test(result.stderr)) throw new Error(result.stderr.trim());
      return result.code === 0 ? 'deleted' : 'already gone';
    }
    case 'netns': {
      if (!(await netnsExists(resource.name))) return 'already gone';
      await killNetnsProcesses(resource.name);
      await run('ip', ['netns', 'delete', resource.name]);
      return 'deleted';
    }
    case 'link': {
      const result = await run('ip', ['link', 'delete', resource.name], { allowFailure: true });
      if (result.code !== 0 && !/Cannot find device|does not exist/i.test(result.stderr)) throw new Error(result.stderr.trim());
      return result.code === 0 ? 'deleted' : 'already gone';
    }
    case 'dir':
      rmSync(resource.path, { recursive: true, force: true });
      return 'removed';
  }
}

export async function netnsExists(name: string): Promise<boolean> {
  return existsSync(`/run/netns/${name}`);
}

/** Kills every process inside a namespace and waits until they are gone (up to 2 s). */
export async function killNetnsProcesses(netns: string): Promise<number[]> {
  const result = await run('ip', ['netns', 'pids', netns], { allowFailure: true });
  const pids = result.stdout.split(/\s+/).filter(Boolean).map(Number);
  for (const pid of pids) {
    try { process.kill(pid, 'SIGKILL'); } catch { /* already exited */ }
  }
  const deadline = Date.now() + 2000;
  while (pids.some((pid) => (procStat(pid)?.state ?? 'Z') !== 'Z') && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 10));
  }
  return pids;
}
