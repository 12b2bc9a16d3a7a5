import { MoatError } from '../core/errors.ts';
import type { ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, readFileSync, writeFileSync, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { which } from '../core/exec.ts';
import { spawnTracked, type ResourceLedger } from '../core/resources.ts';
import type { SeriesSink } from '../core/series.ts';
import { composeProgram, parseLine, histQuantile, ERRNO, GO_FUNCTIONS, type BpfProbe } from './probes.ts';
import { goFunctions, hasSymbols, uprobeAddress } from './gopclntab.ts';
import { StackSymbolizer } from './symbolize.ts';
import { PROFILE_BUCKET_MS, type ProfileSample } from '../core/profile.ts';

/** Distinct (host, bucket, stack) entries the profile keeps; more are counted as dropped. */
const MAX_PROFILE_ENTRIES = 200_000;

/** Whether eBPF probes can run here, and if not, why. */
export async function bpfAvailability(): Promise<{ ok: true; bpftrace: string } | { ok: false; reason: string }> {
  if (process.getuid?.() !== 0) return { ok: false, reason: 'not root: bpftrace needs root' };
  const bpftrace = await which('bpftrace');
  if (!bpftrace) return { ok: false, reason: 'bpftrace is not installed (apt-get install bpftrace)' };
  if (!existsSync('/sys/kernel/tracing/events/tcp') && !existsSync('/sys/kernel/debug/tracing/events/tcp')) {
    return { ok: false, reason: 'tracefs is not mounted (mount -t tracefs nodev /sys/kernel/tracing)' };
  }
  return { ok: true, bpftrace };
}

/** Counts the probes saw between two twin hosts, for fault verification. */
export interface TcpCounts {
  retransmits: number;
  resets: number;
}

export interface BpfEvidenceSource {
  /** per `src>dst` host pair, what the probes counted in [fromT, toT] (ms on the run clock) */
  tcpBetween(fromT: number, toT: number): Map<string, TcpCounts>;
  /** the run clock time of the last interval the probes reported */
  readonly lastTickAt: number;
}

interface Options {
  probes: readonly BpfProbe[];
  /** Go binaries of the twin, for the go-gc and go-sched probes */
  goBinaries?: readonly string[];
  intervalMs: number;
  /** program names of the twin's processes, for the comm filters */
  comms: readonly string[];
  ledger: ResourceLedger;
  /** where program.bt and output.jsonl go (the run folder's `bpf/`) */
  dir: string;
  now: () => number;
  store: SeriesSink;
  hostOfIp: (ip: string) => string | undefined;
  hostOfPid: (pid: number) => string | undefined;
  onEvent: (detail: string) => void;
}

const SIGNALS: Record<number, string> = { 6: 'SIGABRT', 9: 'SIGKILL', 11: 'SIGSEGV', 15: 'SIGTERM', 19: 'SIGSTOP' };

/**
 * The run's bpftrace process: one program made of the chosen probe files, its JSON output parsed
 * into series every interval, written raw to `bpf/output.jsonl`, and mapped from addresses and
 * pids to twin hosts. Recorded in the ledger like every process moat starts.
 */
export class BpfObserver implements BpfEvidenceSource {
  readonly #options: Options;
  readonly #child: ChildProcess;
  readonly #raw: WriteStream;
  readonly #pending = new Map<string, unknown>();
  readonly #tcp: { t: number; pair: string; retransmits: number; resets: number }[] = [];
  readonly #seenPairs = new Map<string, Set<string>>();
  readonly #tgid = new Map<number, number>();
  readonly #profile = new Map<string, ProfileSample>();
  readonly #symbolizer = new StackSymbolizer();
  #profileDropped = 0;
  readonly attached: Promise<number>;
  readonly exited: Promise<number>;
  #lastTickAt = 0;
  #stderr = '';

  private constructor(options: Options, bpftrace: string) {
    this.#options = options;
    mkdirSync(options.dir, { recursive: true });
    const programFile = join(options.dir, 'program.bt');
    const goProbes = options.probes.some((p) => p === 'go-gc' || p === 'go-sched');
    // a program that is not a Go binary (a user's app may be anything) simply gets no Go probes
    const goBinaries = goProbes ? (options.goBinaries ?? []).flatMap((path) => {
      try {
        const stripped = !hasSymbols(path);
        const addresses: Record<string, string> = {};
        for (const fn of goFunctions(path, GO_FUNCTIONS)) addresses[fn.name] = uprobeAddress(fn, stripped);
        return [{ path, addresses }];
      } catch {
        return [];
      }
    }) : [];
    writeFileSync(programFile, composeProgram(options.probes, { intervalMs: options.intervalMs, comms: options.comms, goBinaries }));
    this.#raw = createWriteStream(join(options.dir, 'output.jsonl'));
    // --unsafe: uprobes on stripped Go binaries go by file offset, which bpftrace cannot check
    const started = spawnTracked(options.ledger, { kind: 'process', name: 'bpftrace' }, bpftrace, ['-f', 'json', ...(goProbes ? ['--unsafe'] : []), programFile], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.#child = started.child;
    this.#child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      // bpftrace warns about RLIMIT_MEMLOCK on kernels that account BPF memory by cgroup; harmless
      this.#stderr = (this.#stderr + chunk).slice(-4000);
    });
    let resolveAttached: (probes: number) => void = () => undefined;
    this.attached = new Promise((resolve) => (resolveAttached = resolve));
    this.exited = started.exited.then((code) => {
      resolveAttached(0);
      return code;
    });
    createInterface({ input: this.#child.stdout! }).on('line', (line) => {
      this.#raw.write(line + '\n');
      const event = parseLine(line);
      if (!event) return;
      if (event.type === 'attached_probes') resolveAttached((event.data as { probes: number }).probes);
      else if (event.type === 'map' || event.type === 'hist') for (const [name, value] of Object.entries(event.data as object)) this.#pending.set(name, value);
      else if (event.type === 'printf' && String(event.data).startsWith('moat_tick')) this.#tick();
    });
  }

  /** Starts bpftrace and waits until its probes are attached (or it fails), up to `timeoutMs`. */
  static async start(options: Options, timeoutMs = 20_000): Promise<BpfObserver> {
    const availability = await bpfAvailability();
    if (!availability.ok) throw new MoatError(availability.reason);
    const observer = new BpfObserver(options, availability.bpftrace);
    const timer = new Promise<number>((resolve) => setTimeout(() => resolve(-1), timeoutMs));
    const probes = await Promise.race([observer.attached, timer]);
    if (probes <= 0) {
      await observer.stop();
      throw new MoatError(probes < 0 ? `bpftrace did not attach within ${timeoutMs} ms` : `bpftrace exited: ${observer.stderr || 'no output'}`);
    }
    return observer;
  }

  get stderr(): string {
    return this.#stderr.split('\n').filter((l) => l && !l.includes('RLIMIT_MEMLOCK')).join('\n').trim();
  }

  get lastTickAt(): number {
    return this.#lastTickAt;
  }

  #processOf(tid: number): number {
    let tgid = this.#tgid.get(tid);
    if (tgid === undefined) {
      try {
        tgid = Number(/^Tgid:\s+(\d+)/m.exec(readFileSync(`/proc/${tid}/status`, 'utf8'))?.[1] ?? tid);
      } catch {
        tgid = tid;
      }
      this.#tgid.set(tid, tgid);
    }
    return tgid;
  }

  /** One interval's maps into series (rates per second) and evidence. */
  #tick(): void {
    const { store, now, intervalMs, hostOfIp, hostOfPid } = this.#options;
    const t = Math.round(now());
    this.#lastTickAt = t;
    const perSec = 1000 / intervalMs;
    const pairs = (name: string) => {
      const out = new Map<string, number>();
      for (const [key, count] of Object.entries((this.#pending.get(name) ?? {}) as Record<string, number>)) {
        const [local, remote] = key.split(',');
        const src = hostOfIp(local ?? '');
        const dst = hostOfIp(remote ?? '');
        if (src && dst) out.set(`${src}>${dst}`, (out.get(`${src}>${dst}`) ?? 0) + count);
      }
      return out;
    };
    const retransmits = pairs('@tcp_retransmits');
    const resets = pairs('@tcp_resets_received');
    for (const [name, series, labels] of [
      ['@tcp_retransmits', 'bpf_tcp_retransmits_per_sec', ['src', 'dst']],
      ['@tcp_resets_received', 'bpf_tcp_resets_received_per_sec', ['host', 'peer']],
      ['@tcp_closes', 'bpf_tcp_closes_per_sec', ['host', 'peer']],
      ['@tcp_state_changes', 'bpf_tcp_state_changes_per_sec', ['host', 'peer']],
    ] as const) {
      if (!this.#pending.has(name) && !this.#seenPairs.has(name)) continue;
      const counts = name === '@tcp_retransmits' ? retransmits : name === '@tcp_resets_received' ? resets : pairs(name);
      const seen = this.#seenPairs.get(name) ?? new Set<string>();
      this.#seenPairs.set(name, seen);
      for (const pair of counts.keys()) seen.add(pair);
      // once a pair has appeared it gets a point every interval, zero included
      for (const pair of seen) {
        const [a, b] = pair.split('>');
        store.append(series, { [labels[0]]: a!, [labels[1]]: b! }, t, (counts.get(pair) ?? 0) * perSec);
      }
    }
    for (const pair of new Set([...retransmits.keys(), ...resets.keys()])) {
      this.#tcp.push({ t, pair, retransmits: retransmits.get(pair) ?? 0, resets: resets.get(pair) ?? 0 });
    }
    const runq = this.#pending.get('@runq_latency_us') as Record<string, { min?: number; max?: number; count: number }[]> | undefined;
    if (runq) {
      const byHost = new Map<string, { min?: number; max?: number; count: number }[]>();
      for (const [tid, buckets] of Object.entries(runq)) {
        const host = hostOfPid(this.#processOf(Number(tid)));
        if (!host) continue;
        const merged = byHost.get(host) ?? [];
        buckets.forEach((bucket, i) => {
          merged[i] ??= { ...bucket, count: 0 };
          merged[i]!.count += bucket.count;
        });
        byHost.set(host, merged);
      }
      for (const [host, buckets] of byHost) {
        const p99 = histQuantile(buckets.filter(Boolean), 0.99);
        if (p99 !== undefined) store.append('bpf_runq_latency_p99_us', { host }, t, p99);
      }
    }
    for (const [name, series] of [['@go_gc_cycles', 'bpf_go_gc_cycles_per_sec'], ['@go_span_refills', 'bpf_go_span_refills_per_sec'], ['@go_goroutines_created', 'bpf_go_goroutines_created_per_sec']] as const) {
      for (const [pid, count] of Object.entries((this.#pending.get(name) ?? {}) as Record<string, number>)) {
        const host = hostOfPid(Number(pid));
        if (host) store.append(series, { host }, t, count * perSec);
      }
    }
    for (const [pid, buckets] of Object.entries((this.#pending.get('@go_gc_mark_us') ?? {}) as Record<string, { min?: number; max?: number; count: number }[]>)) {
      const host = hostOfPid(Number(pid));
      const p99 = histQuantile(buckets, 0.99);
      if (host && p99 !== undefined) store.append('bpf_go_gc_mark_p99_us', { host }, t, p99);
    }
    const errors = this.#pending.get('@syscall_errors') as Record<string, number> | undefined;
    if (errors) {
      const byHost = new Map<string, number>();
      for (const [key, count] of Object.entries(errors)) {
        const [pid, errno] = key.split(',').map(Number);
        const host = hostOfPid(pid!);
        if (!host) continue;
        const label = `${host}|${ERRNO[errno!] ?? String(errno)}`;
        byHost.set(label, (byHost.get(label) ?? 0) + count);
      }
      for (const [label, count] of byHost) {
        const [host, errno] = label.split('|');
        store.append('bpf_syscall_errors_per_sec', { host: host!, errno: errno! }, t, count * perSec);
      }
    }
    for (const [name, what] of [['@process_exits', 'exited'], ['@oom_kills', 'was killed by the OOM killer']] as const) {
      for (const key of Object.keys((this.#pending.get(name) ?? {}) as object)) {
        const host = hostOfPid(Number(key));
        if (host) this.#options.onEvent(`kernel: ${host} (pid ${key}) ${what}`);
      }
    }
    this.#collectProfile(t);
    for (const key of Object.keys((this.#pending.get('@fatal_signals') ?? {}) as object)) {
      const [pid, signal] = key.split(',').map(Number);
      const host = hostOfPid(pid!);
      if (host) this.#options.onEvent(`kernel: ${SIGNALS[signal!] ?? `signal ${signal}`} sent to ${host} (pid ${pid})`);
    }
    this.#pending.clear();
  }

  /** The interval's on-CPU stacks, named while their processes are alive, summed per host and bucket. */
  #collectProfile(t: number): void {
    const stacks = this.#pending.get('@profile_stacks') as Record<string, number> | undefined;
    if (!stacks) return;
    const bucket = Math.floor(t / PROFILE_BUCKET_MS) * PROFILE_BUCKET_MS;
    for (const [key, count] of Object.entries(stacks)) {
      const comma = key.indexOf(',');
      const pid = Number(key.slice(0, comma));
      const host = this.#options.hostOfPid(pid);
      if (!host) continue;
      const addresses = [...key.slice(comma + 1).matchAll(/\n\t([0-9a-f]+) /g)].map((m) => parseInt(m[1]!, 16));
      const frames = this.#symbolizer.frames(pid, addresses);
      const id = `${host}|${bucket}|${frames.join(';')}`;
      const entry = this.#profile.get(id);
      if (entry) entry.count += count;
      else if (this.#profile.size < MAX_PROFILE_ENTRIES) this.#profile.set(id, { host, t: bucket, frames, count });
      else this.#profileDropped += count;
    }
  }

  /** The profile probe's samples so far (empty without it), and how many were dropped over the cap. */
  profile(): { samples: ProfileSample[]; dropped: number } {
    return { samples: [...this.#profile.values()], dropped: this.#profileDropped };
  }

  tcpBetween(fromT: number, toT: number): Map<string, TcpCounts> {
    const out = new Map<string, TcpCounts>();
    for (const entry of this.#tcp) {
      if (entry.t < fromT || entry.t > toT) continue;
      const total = out.get(entry.pair) ?? { retransmits: 0, resets: 0 };
      total.retransmits += entry.retransmits;
      total.resets += entry.resets;
      out.set(entry.pair, total);
    }
    return out;
  }

  async stop(): Promise<void> {
    if (this.#child.exitCode === null && this.#child.signalCode === null) {
      this.#child.kill('SIGINT');
      const timer = setTimeout(() => this.#child.kill('SIGKILL'), 3000);
      await this.exited;
      clearTimeout(timer);
    }
    await new Promise<void>((resolve) => this.#raw.end(resolve));
  }
}
