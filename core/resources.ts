import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { appendFileSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { errorMessage, MoatError } from './errors.ts';
import { procStat } from './proc.ts';

/**
 * Every resource a run creates, written down before it is created and struck off after it is
 * gone: the resource ledger. The file is append-only JSON lines, so a run killed with SIGKILL still
 * leaves a complete record, and `moat cleanup` can undo exactly what the run made and nothing else.
 * (It is not the ledger service under test in twin/apps/ledger: that one keeps balances.)
 */
export type Resource =
  | { kind: 'netns'; name: string }
  | { kind: 'link'; name: string }
  | { kind: 'nft-table'; netns: string; family: 'inet'; name: string }
  | { kind: 'process'; name: string; netns?: string; pid?: number; startTime?: string }
  | { kind: 'dir'; path: string }
  | { kind: 'cgroup'; controller: 'cpu' | 'memory'; name: string }
  | { kind: 'container'; name: string }
  | { kind: 'network'; name: string };

export type ResourceKind = Resource['kind'];

type Entry =
  | { op: 'open'; runId: string; pid: number; pidStartTime: string; startedAt: string; runDir?: string }
  | { op: 'add'; key: string; resource: Resource }
  | { op: 'update'; key: string; resource: Resource }
  | { op: 'remove'; key: string };

/** A run id: six hex digits, in every name the run gives what it makes. */
export const RUN_ID = /^[0-9a-f]{6}$/;

export function resourceKey(resource: Resource): string {
  switch (resource.kind) {
    case 'netns': return `netns:${resource.name}`;
    case 'link': return `link:${resource.name}`;
    case 'nft-table': return `nft:${resource.netns}:${resource.family}:${resource.name}`;
    case 'process': return `process:${resource.netns ?? ''}:${resource.name}`;
    case 'dir': return `dir:${resource.path}`;
    case 'cgroup': return `cgroup:${resource.controller}:${resource.name}`;
    case 'container': return `container:${resource.name}`;
    case 'network': return `network:${resource.name}`;
  }
}

export function defaultStateDir(): string {
  return process.env.MOAT_STATE_DIR ?? '/var/lib/moat';
}

/** The kernel's start time of a process, to tell a pid from its reuse. */
export function processStartTime(pid: number): string | undefined {
  return procStat(pid)?.startTime;
}

/** A handle on one recorded resource: update it with what was learnt after creation, strike it off when gone. */
export interface ResourceHandle {
  readonly key: string;
  update(resource: Resource): void;
  remove(): void;
}

export class ResourceLedger {
  readonly runId: string;
  readonly file: string;
  readonly #outstanding = new Map<string, Resource>();

  private constructor(runId: string, file: string) {
    this.runId = runId;
    this.file = file;
  }

  /**
   * Opens the run's ledger in `<stateDir>/ledger/<runId>.jsonl`. The folder is made private to
   * root (0700); one that others may write to is refused, because `moat cleanup` acts on what it reads.
   */
  static open(runId: string, options: { stateDir?: string; runDir?: string } = {}): ResourceLedger {
    const dir = ledgerDir(options.stateDir);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const problem = unsafeOwnership(dir);
    if (problem) throw new MoatError(`refusing to keep the resource ledger in ${dir}: ${problem}`);
    const ledger = new ResourceLedger(runId, join(dir, `${runId}.jsonl`));
    ledger.#append({ op: 'open', runId, pid: process.pid, pidStartTime: processStartTime(process.pid) ?? '', startedAt: new Date().toISOString(), ...(options.runDir ? { runDir: options.runDir } : {}) });
    return ledger;
  }

  /** Records a resource that is about to be created. */
  add(resource: Resource): ResourceHandle {
    const key = resourceKey(resource);
    this.#outstanding.set(key, resource);
    this.#append({ op: 'add', key, resource });
    return { key, update: (learnt) => this.update(key, learnt), remove: () => this.remove(key) };
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
    appendFileSync(this.file, JSON.stringify(entry) + '\n', { mode: 0o600 });
  }
}

/**
 * Starts a process that the ledger tracks: recorded before it starts, its pid and start time
 * written as soon as it has them, struck off when it exits. The command line should carry the run
 * id (a data folder, a -D flag), which is how `moat cleanup` recognises it.
 */
export function spawnTracked(ledger: ResourceLedger, resource: Extract<Resource, { kind: 'process' }>, command: string, args: readonly string[], options: SpawnOptions = {}): { child: ChildProcess; exited: Promise<number> } {
  const handle = ledger.add(resource);
  const child = spawn(command, args, options);
  const pid = child.pid;
  if (pid !== undefined) handle.update({ ...resource, pid, startTime: processStartTime(pid) ?? '' });
  const exited = new Promise<number>((resolve) => {
    child.on('exit', (code, signal) => {
      handle.remove();
      resolve(code ?? 128 + (signal ? signalNumber(signal) : 0));
    });
    child.on('error', () => {
      handle.remove();
      resolve(127);
    });
  });
  return { child, exited };
}

function signalNumber(signal: NodeJS.Signals): number {
  const numbers: Partial<Record<NodeJS.Signals, number>> = { SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGTERM: 15, SIGSEGV: 11, SIGABRT: 6 };
  return numbers[signal] ?? 0;
}

function ledgerDir(stateDir = defaultStateDir()): string {
  return join(stateDir, 'ledger');
}

/** Why a ledger file or folder cannot be trusted: not root's (or this user's), or writable by others. */
function unsafeOwnership(path: string): string | undefined {
  const stat = lstatSync(path);
  if (stat.isSymbolicLink()) return 'it is a symbolic link';
  const uid = process.getuid?.() ?? 0;
  if (stat.uid !== 0 && stat.uid !== uid) return `it belongs to uid ${stat.uid}`;
  if ((stat.mode & 0o022) !== 0) return `others may write to it (mode ${(stat.mode & 0o777).toString(8)})`;
  return undefined;
}

export interface LedgerFile {
  file: string;
  runId: string;
  ownerPid: number;
  ownerAlive: boolean;
  runDir?: string;
  outstanding: { key: string; resource: Resource }[];
  /** why this ledger file as a whole is not acted on, if it is not */
  untrusted?: string;
  /** lines that are not ledger entries, or whose key does not match their resource */
  badLines: number;
}

export function readLedgerFile(file: string): LedgerFile {
  const outstanding = new Map<string, Resource>();
  let open: Extract<Entry, { op: 'open' }> | undefined;
  let badLines = 0;
  const untrusted = unsafeOwnership(file) ?? unsafeOwnership(dirname(file));
  const text = readFileSync(file, 'utf8');
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    let entry: Entry;
    try {
      entry = JSON.parse(line) as Entry;
    } catch {
      badLines++; // a line torn by a crash mid-write: the resources before it are still listed
      continue;
    }
    if (entry.op === 'open') open = entry;
    else if ((entry.op === 'add' || entry.op === 'update') && entry.resource && typeof entry.resource === 'object') {
      // the key is recomputed, never trusted: a key that does not name its resource is refused below
      let key: string;
      try {
        key = resourceKey(entry.resource);
      } catch {
        badLines++;
        continue;
      }
      if (key !== entry.key) badLines++;
      outstanding.set(entry.key, entry.resource);
    } else if (entry.op === 'remove') outstanding.delete(entry.key);
    else badLines++;
  }
  const runId = open?.runId ?? '';
  const expected = basename(file, '.jsonl');
  const ownerPid = Number.isInteger(open?.pid) && open!.pid > 1 ? open!.pid : 0;
  const ownerAlive = ownerPid > 0 && processStartTime(ownerPid) === open?.pidStartTime;
  const why = untrusted ?? (!RUN_ID.test(runId) ? `its run id ${JSON.stringify(runId)} is not six hex digits` : runId !== expected ? `it says run ${runId} but is named ${expected}` : undefined);
  return {
    file, runId, ownerPid, ownerAlive, badLines,
    ...(open?.runDir ? { runDir: open.runDir } : {}),
    ...(why ? { untrusted: why } : {}),
    outstanding: [...outstanding].map(([key, resource]) => ({ key, resource })),
  };
}

export function listLedgers(stateDir = defaultStateDir()): LedgerFile[] {
  const dir = ledgerDir(stateDir);
  if (!existsSync(dir)) return [];
  return readdirSync(dir).filter((f) => f.endsWith('.jsonl')).map((f) => readLedgerFile(join(dir, f)));
}

/** Ledgers whose run is no longer alive. */
export function staleLedgers(stateDir = defaultStateDir()): LedgerFile[] {
  return listLedgers(stateDir).filter((l) => !l.ownerAlive);
}

/**
 * How to check and undo one kind of resource. `check` says why an entry must not be acted on
 * (it does not carry this run's id, it is not what it claims to be); `undo` is idempotent: a
 * resource that is already gone counts as cleaned. Backends register their kinds (netns, nft
 * tables, containers) beside the ones every run has (processes, folders).
 */
export interface ResourceHandler<R extends Resource = Resource> {
  kind: R['kind'];
  check(resource: R, runId: string): string | undefined;
  /** what undo will do, for `moat cleanup --dry-run` */
  describe(resource: R): string;
  undo(resource: R, runId: string): Promise<string>;
}

export type ResourceHandlers = { [K in ResourceKind]: ResourceHandler<Extract<Resource, { kind: K }>> };

export interface CleanupStep {
  key: string;
  /** what will be (or was) done, or why nothing is done */
  action: string;
  refused?: string;
}

export interface CleanupResult {
  key: string;
  ok: boolean;
  detail: string;
}

/**
 * The plan for a stale ledger, newest resource first: one step per outstanding entry, each either
 * an undo or a refusal with its reason. `moat cleanup --dry-run` prints this plan; `moat cleanup`
 * carries out exactly it.
 */
export function planCleanup(ledger: LedgerFile, handlers: ResourceHandlers): CleanupStep[] {
  return [...ledger.outstanding].reverse().map(({ key, resource }) => {
    if (ledger.untrusted) return { key, action: 'nothing', refused: `the ledger file is not trusted: ${ledger.untrusted}` };
    const handler = handlers[resource.kind] as ResourceHandler | undefined;
    if (!handler) return { key, action: 'nothing', refused: `unknown kind of resource ${JSON.stringify(resource.kind)}` };
    if (resourceKey(resource) !== key) return { key, action: 'nothing', refused: `the key does not name this resource (${resourceKey(resource)})` };
    const refused = handler.check(resource, ledger.runId);
    return refused ? { key, action: 'nothing', refused } : { key, action: handler.describe(resource) };
  });
}

/** Carries out a plan; the ledger file goes once every step succeeded and none was refused. */
export async function runCleanup(ledger: LedgerFile, handlers: ResourceHandlers, plan = planCleanup(ledger, handlers)): Promise<CleanupResult[]> {
  const results: CleanupResult[] = [];
  const byKey = new Map(ledger.outstanding.map((o) => [o.key, o.resource]));
  for (const step of plan) {
    if (step.refused) {
      results.push({ key: step.key, ok: false, detail: `refused: ${step.refused}` });
      continue;
    }
    const resource = byKey.get(step.key)!;
    try {
      results.push({ key: step.key, ok: true, detail: await (handlers[resource.kind] as ResourceHandler).undo(resource, ledger.runId) });
    } catch (error) {
      results.push({ key: step.key, ok: false, detail: errorMessage(error) });
    }
  }
  if (results.every((r) => r.ok)) rmSync(ledger.file, { force: true });
  return results;
}

/** Whether `text` holds the run id as a token of its own (not inside a longer hex string). */
function mentionsRun(text: string, runId: string): boolean {
  return new RegExp(`(^|[^0-9a-f])${runId}([^0-9a-f]|$)`).test(text);
}

/** The network namespace a process is in, as the inode behind /proc/PID/ns/net. */
function netnsOf(pid: number): string | undefined {
  try {
    return readlinkSync(`/proc/${pid}/ns/net`);
  } catch {
    return undefined;
  }
}

/** Processes: a pid above 1 with the start time recorded, inside the run's namespace or naming the run on its command line. */
export const processHandler: ResourceHandler<Extract<Resource, { kind: 'process' }>> = {
  kind: 'process',
  check(resource, runId) {
    if (resource.pid === undefined) return undefined;
    if (!Number.isInteger(resource.pid) || resource.pid <= 1) return `pid ${resource.pid} is not a process moat started`;
    if (typeof resource.startTime !== 'string' || !/^\d+$/.test(resource.startTime)) return 'no start time recorded to tell the process from a later one with its pid';
    if (resource.netns !== undefined && !new RegExp(`^moat-${runId}-[a-z0-9-]+$`).test(resource.netns)) return `namespace ${JSON.stringify(resource.netns)} is not one of run ${runId}`;
    const stat = procStat(resource.pid);
    // gone, another process now, or a zombie (exited, its parent gone): undo says so
    if (!stat || stat.startTime !== resource.startTime || stat.state === 'Z') return undefined;
    if (stat.kernelThread) return `pid ${resource.pid} is a kernel thread`;
    // a process moat started that is exiting (bpftrace detaching its probes after moat was
    // killed) has an empty command line; its pid and start time are what name it, and undo waits
    if (stat.exiting) return undefined;
    const inNetns = resource.netns !== undefined && existsSync(`/run/netns/${resource.netns}`) && netnsOf(resource.pid) === `net:[${statSync(`/run/netns/${resource.netns}`).ino}]`;
    let cmdline = '';
    try {
      cmdline = readFileSync(`/proc/${resource.pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
    } catch { /* gone meanwhile */ }
    if (!inNetns && !mentionsRun(cmdline, runId)) {
      // it may have begun exiting between the two reads (its command line is then empty): look again
      const again = procStat(resource.pid);
      if (!again || again.startTime !== resource.startTime || again.state === 'Z' || again.exiting) return undefined;
      return `pid ${resource.pid} is neither in a namespace of run ${runId} nor does its command line name the run`;
    }
    return undefined;
  },
  describe: (resource) => (resource.pid === undefined ? `nothing (${resource.name} never started)` : `kill -9 pid ${resource.pid} (${resource.name}) if it is still the process started at tick ${resource.startTime}`),
  async undo(resource) {
    if (resource.pid === undefined) return 'never started';
    const stat = procStat(resource.pid);
    if (!stat || stat.startTime !== resource.startTime) return `pid ${resource.pid} already gone`;
    if (stat.state === 'Z') return `pid ${resource.pid} already exited`;
    if (stat.exiting) return `pid ${resource.pid} already exiting`;
    process.kill(resource.pid, 'SIGKILL');
    return `killed pid ${resource.pid}`;
  },
};

/** Folders a run made: named `moat-<run id>` (or `moat-<run id>-...`) in /dev/shm or the temp directory. */
export const dirHandler: ResourceHandler<Extract<Resource, { kind: 'dir' }>> = {
  kind: 'dir',
  check(resource, runId) {
    if (typeof resource.path !== 'string') return 'no path';
    const parents = new Set(['/dev/shm', '/tmp', tmpdir()]);
    if (!parents.has(dirname(resource.path)) || !new RegExp(`^moat-${runId}(-[a-z0-9-]+)?$`).test(basename(resource.path))) {
      return `${resource.path} is not a folder of run ${runId} (expected /dev/shm/moat-${runId} or the like)`;
    }
    if (!existsSync(resource.path)) return undefined;
    const stat = lstatSync(resource.path);
    if (!stat.isDirectory()) return `${resource.path} is not a folder`;
    if (stat.uid !== (process.getuid?.() ?? 0)) return `${resource.path} belongs to uid ${stat.uid}, not to moat`;
    return undefined;
  },
  describe: (resource) => `remove the folder ${resource.path}`,
  async undo(resource) {
    if (!existsSync(resource.path)) return 'already gone';
    rmSync(resource.path, { recursive: true, force: true });
    return 'removed';
  },
};

/** Stops a child moat started: SIGTERM, SIGKILL after `graceMs`, and waits until it has exited. */
export async function stopChild(child: ChildProcess, exited: Promise<unknown>, graceMs = 10_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}
