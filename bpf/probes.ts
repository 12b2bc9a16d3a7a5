import { MoatError } from '../core/errors.ts';
import { readFileSync } from 'node:fs';

/** The probes moat ships, each a bpftrace file in this folder. */
export const BPF_PROBES = ['tcp-retransmit', 'tcp-state', 'runq-latency', 'syscall-errors', 'process-exits', 'go-gc', 'go-sched', 'profile'] as const;
export type BpfProbe = (typeof BPF_PROBES)[number];

/**
 * What a scenario gets without `observe.bpf`: the probes whose cost does not show against the
 * run-to-run noise of etcd's put throughput (bench/probe-overhead.ts): TCP trouble, process
 * events, and the on-CPU profile behind the diagnosis card's flame graphs.
 */
export const DEFAULT_BPF_PROBES: readonly BpfProbe[] = ['tcp-retransmit', 'tcp-state', 'process-exits', 'profile'];

/** Probes placed per Go binary, with function addresses filled in. */
const GO_PROBES: Partial<Record<BpfProbe, Record<string, string>>> = {
  'go-gc': { GC_START: 'runtime.gcStart', GC_MARK_DONE: 'runtime.gcMarkDone', MCACHE_REFILL: 'runtime.(*mcache).refill' },
  'go-sched': { NEWPROC1: 'runtime.newproc1' },
};

/** The Go runtime functions the Go probes need. */
export const GO_FUNCTIONS = new Set(Object.values(GO_PROBES).flatMap((m) => Object.values(m)));

/** A Go binary of the twin, with the probe address of each runtime function moat probes. */
export interface GoBinary {
  path: string;
  addresses: Record<string, string>;
}

/** The maps each probe fills, printed and cleared every interval. */
const MAPS: Record<BpfProbe, string[]> = {
  'tcp-retransmit': ['@tcp_retransmits'],
  'tcp-state': ['@tcp_resets_received', '@tcp_state_changes', '@tcp_closes'],
  'runq-latency': ['@runq_latency_us'],
  'syscall-errors': ['@syscall_errors'],
  'process-exits': ['@process_exits', '@fatal_signals', '@oom_kills'],
  'go-gc': ['@go_gc_cycles', '@go_gc_mark_us', '@go_span_refills'],
  'go-sched': ['@go_goroutines_created'],
  profile: ['@profile_stacks'],
};

/** Whether a name is one of the probes (a validated scenario's names are). */
export function isBpfProbe(name: string): name is BpfProbe {
  return (BPF_PROBES as readonly string[]).includes(name);
}

/**
 * One bpftrace program from the chosen probe files: the comm filters filled in with the twin's
 * program names, and one interval block that prints and clears every map.
 */
export function composeProgram(probes: readonly BpfProbe[], options: { intervalMs: number; comms: readonly string[]; goBinaries?: readonly GoBinary[] }): string {
  const names = (options.comms.length > 0 ? options.comms : ['none']).map(bpftraceString);
  const commFilter = `(${names.map((n) => `comm == ${n}`).join(' || ')})`;
  const argsCommFilter = `(${names.map((n) => `args->comm == ${n}`).join(' || ')})`;
  const bodies = probes.flatMap((probe) => {
    const text = readFileSync(new URL(`./${probe}.bt`, import.meta.url), 'utf8');
    const functions = GO_PROBES[probe];
    if (!functions) return [text.replaceAll('ARGS_COMM_FILTER', argsCommFilter).replaceAll('COMM_FILTER', commFilter)];
    // one copy per Go binary; a binary missing a function gets no copy of that probe
    return (options.goBinaries ?? []).filter((b) => Object.values(functions).every((f) => b.addresses[f])).map((binary) => {
      let body = text.replaceAll('GO_BINARY', binary.path);
      for (const [placeholder, fn] of Object.entries(functions)) body = body.replaceAll(`:${placeholder}`, `:${binary.addresses[fn]}`);
      return body;
    });
  });
  const maps = probes.flatMap((p) => MAPS[p]);
  const interval = `interval:ms:${Math.max(100, Math.round(options.intervalMs))}\n{\n${maps.map((m) => `  print(${m});\n  clear(${m});`).join('\n')}\n  printf("moat_tick\\n");\n}\n`;
  return `${bodies.join('\n')}\n${interval}`;
}

/**
 * A process name as the kernel keeps it (its first 15 bytes) in a bpftrace string literal: spaces,
 * `+` and any other printable character are fine; `"` and `\` are escaped. A control character
 * cannot be in a filter (the scenario is refused before that).
 */
export function bpftraceString(name: string): string {
  let bytes = Buffer.from(name, 'utf8').subarray(0, 15);
  // do not cut a character in two: drop a trailing partial UTF-8 sequence
  while (bytes.length > 0 && Buffer.from(bytes.toString('utf8'), 'utf8').length !== bytes.length) bytes = bytes.subarray(0, bytes.length - 1);
  const text = bytes.toString('utf8');
  if (/[\u0000-\u001f\u007f]/.test(text)) throw new MoatError(`program name ${JSON.stringify(name)} has a control character and cannot be used in a bpftrace filter`);
  return `"${text.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

/** One line of `bpftrace -f json` output. */
export type BpfEvent =
  | { type: 'attached_probes'; data: { probes: number } }
  | { type: 'map'; data: Record<string, Record<string, number>> }
  | { type: 'hist'; data: Record<string, Record<string, { min?: number; max?: number; count: number }[]> | { min?: number; max?: number; count: number }[]> }
  | { type: 'printf'; data: string }
  | { type: string; data: unknown };

export function parseLine(line: string): BpfEvent | undefined {
  if (!line.startsWith('{')) return undefined;
  try {
    return JSON.parse(line) as BpfEvent;
  } catch {
    return undefined;
  }
}

/** The q-quantile of a bpftrace log2 histogram, taking each bucket's upper bound. */
export function histQuantile(buckets: readonly { min?: number; max?: number; count: number }[], q: number): number | undefined {
  const total = buckets.reduce((sum, b) => sum + b.count, 0);
  if (total === 0) return undefined;
  let seen = 0;
  for (const bucket of buckets) {
    seen += bucket.count;
    if (seen >= q * total) return bucket.max ?? bucket.min ?? 0;
  }
  return buckets[buckets.length - 1]?.max;
}

/** Errno names for the errors twin programs hit most; others keep their number. */
export const ERRNO: Record<number, string> = {
  1: 'EPERM', 2: 'ENOENT', 4: 'EINTR', 9: 'EBADF', 11: 'EAGAIN', 13: 'EACCES', 22: 'EINVAL', 24: 'EMFILE', 28: 'ENOSPC', 32: 'EPIPE',
  101: 'ENETUNREACH', 103: 'ECONNABORTED', 104: 'ECONNRESET', 110: 'ETIMEDOUT', 111: 'ECONNREFUSED', 113: 'EHOSTUNREACH', 115: 'EINPROGRESS',
};
