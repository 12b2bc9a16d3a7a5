import type { Breakpoint, GeneratorReport } from '../core/journal.ts';

/** One point of a load's per-second series. */
export interface LoadPoint {
  name: string;
  labels: Record<string, string>;
  t: number;
  v: number;
}

/** A request that leaves more than this long after its due time is late. */
export const LATE_MS = 10;
/** A second in which more than this share of requests left late (or any was dropped) is one the generator did not keep. */
export const SATURATED_LATE_SHARE = 0.01;

/**
 * Latencies in an HDR histogram: integer microseconds in HdrHistogram's bucket layout with three
 * significant digits (exact below 2.048 ms, then 1,024 sub-buckets per power of two, so any value
 * reads back within 0.1%, never below the true value), read in ms. Stored sparsely (bucket index ->
 * count), so a second's histogram holds only the buckets it used and two merge exactly: per-second
 * histograms from several workers add up to the percentiles a single generator would have seen.
 * (hdr-histogram-js was measured first: its packed histograms took 1.2 µs a value and 11 ms to
 * encode and 20-37 ms to merge a second's histogram, which stalled the sending thread; its dense
 * ones hold 26 KB per histogram.)
 */
export class LatencyHistogram {
  readonly #counts = new Map<number, number>();
  #count = 0;
  #sumUs = 0;
  #minUs = Number.POSITIVE_INFINITY;
  #maxUs = 0;

  static of(valuesMs: readonly number[]): LatencyHistogram {
    const h = new LatencyHistogram();
    for (const v of valuesMs) h.record(v);
    return h;
  }

  static decode(encoded: EncodedHistogram): LatencyHistogram {
    const h = new LatencyHistogram();
    const { buckets } = encoded;
    for (let k = 0; k + 1 < buckets.length; k += 2) h.#counts.set(buckets[k]!, buckets[k + 1]!);
    h.#count = encoded.count;
    h.#sumUs = encoded.sumUs;
    h.#minUs = encoded.count > 0 ? encoded.minUs : Number.POSITIVE_INFINITY;
    h.#maxUs = encoded.maxUs;
    return h;
  }

  record(ms: number): void {
    const us = Math.max(1, Math.round(ms * 1000));
    const index = bucketIndex(us);
    this.#counts.set(index, (this.#counts.get(index) ?? 0) + 1);
    this.#count++;
    this.#sumUs += us;
    if (us < this.#minUs) this.#minUs = us;
    if (us > this.#maxUs) this.#maxUs = us;
  }

  add(other: LatencyHistogram): void {
    for (const [index, n] of other.#counts) this.#counts.set(index, (this.#counts.get(index) ?? 0) + n);
    this.#count += other.#count;
    this.#sumUs += other.#sumUs;
    this.#minUs = Math.min(this.#minUs, other.#minUs);
    this.#maxUs = Math.max(this.#maxUs, other.#maxUs);
  }

  get count(): number {
    return this.#count;
  }

  /** ms at percentile p (0-100, nearest rank), the top of its bucket but never above the largest value seen; NaN when empty */
  percentile(p: number): number {
    if (this.#count === 0) return Number.NaN;
    const rank = Math.max(1, Math.ceil((p / 100) * this.#count));
    const indices = [...this.#counts.keys()].sort((a, b) => a - b);
    let seen = 0;
    for (const index of indices) {
      seen += this.#counts.get(index)!;
      if (seen >= rank) return Math.min(bucketTop(index), this.#maxUs) / 1000;
    }
    return this.#maxUs / 1000;
  }

  get maxMs(): number {
    return this.#count === 0 ? Number.NaN : this.#maxUs / 1000;
  }

  get minMs(): number {
    return this.#count === 0 ? Number.NaN : this.#minUs / 1000;
  }

  get meanMs(): number {
    return this.#count === 0 ? Number.NaN : this.#sumUs / this.#count / 1000;
  }

  encode(): EncodedHistogram {
    const buckets: number[] = [];
    for (const [index, n] of this.#counts) buckets.push(index, n);
    return { buckets, count: this.#count, sumUs: this.#sumUs, minUs: this.#count > 0 ? this.#minUs : 0, maxUs: this.#maxUs };
  }
}

/** A histogram on its way between threads: [bucket, count, bucket, count, …] and its exact totals. */
export interface EncodedHistogram {
  buckets: number[];
  count: number;
  sumUs: number;
  minUs: number;
  maxUs: number;
}

/** HdrHistogram's layout at 3 significant digits: 2,048 exact values, then 1,024 sub-buckets per power of two. */
function bucketIndex(us: number): number {
  if (us < 2048) return us;
  const e = (us < 2 ** 31 ? 31 - Math.clz32(us) : Math.floor(Math.log2(us))) - 10;
  return e * 1024 + Math.floor(us / 2 ** e);
}

/** The largest value (µs) that falls in a bucket. */
function bucketTop(index: number): number {
  if (index < 2048) return index;
  const e = Math.floor(index / 1024) - 1;
  return (index - e * 1024 + 1) * 2 ** e - 1;
}

/** One second of a load: what was due in it, per op, and how well the generator kept its schedule. */
interface Bucket {
  ops: Map<string, { requests: number; errors: number; latency: LatencyHistogram }>;
  lag: LatencyHistogram;
  late: number;
  dropped: number;
}

/** A bucket on its way from a worker thread: histograms encoded. */
export interface EncodedBucket {
  t: number;
  ops: { op: string; requests: number; errors: number; latency: EncodedHistogram }[];
  lag: EncodedHistogram;
  late: number;
  dropped: number;
}

/**
 * A load's requests summed per second of due time, per op: counts, errors and latency and lag
 * histograms. Its size grows with the run's seconds and ops, not with the rate, so a generator
 * at 10,000 requests/s keeps no per-request records. Workers send theirs as encoded deltas
 * (`drain`), the run's side merges them (`merge`).
 */
export class LoadStats {
  readonly #buckets = new Map<number, Bucket>();
  readonly #bucketMs: number;
  #dirty = new Set<number>();

  constructor(bucketMs = 1000) {
    this.#bucketMs = bucketMs;
  }

  #bucket(t: number): Bucket {
    let bucket = this.#buckets.get(t);
    if (!bucket) this.#buckets.set(t, (bucket = { ops: new Map(), lag: new LatencyHistogram(), late: 0, dropped: 0 }));
    this.#dirty.add(t);
    return bucket;
  }

  /** The bucket a due time falls in, stamped with its end: when its value can first be known. */
  bucketOf(dueMs: number): number {
    return (Math.floor(dueMs / this.#bucketMs) + 1) * this.#bucketMs;
  }

  /**
   * One request: when it was due, how late it left (null for a script's follow-up request, which
   * has no due time of its own), its latency, whether it succeeded.
   */
  record(op: string, dueMs: number, lagMs: number | null, latencyMs: number, ok: boolean): void {
    const bucket = this.#bucket(this.bucketOf(dueMs));
    let entry = bucket.ops.get(op);
    if (!entry) bucket.ops.set(op, (entry = { requests: 0, errors: 0, latency: new LatencyHistogram() }));
    entry.requests++;
    if (!ok) entry.errors++;
    entry.latency.record(latencyMs);
    if (lagMs === null) return;
    bucket.lag.record(lagMs);
    if (lagMs > LATE_MS) bucket.late++;
  }

  /** A request the generator did not send (too many in flight): it fails, and marks the second. */
  dropped(op: string, dueMs: number, lagMs: number): void {
    this.record(op, dueMs, lagMs, lagMs, false);
    this.#bucket(this.bucketOf(dueMs)).dropped++;
  }

  /** Every bucket changed since the last drain, encoded, and forgotten here (a worker's side). */
  drain(): EncodedBucket[] {
    const out: EncodedBucket[] = [];
    for (const t of this.#dirty) {
      const bucket = this.#buckets.get(t)!;
      out.push({ t, ops: [...bucket.ops].map(([op, e]) => ({ op, requests: e.requests, errors: e.errors, latency: e.latency.encode() })), lag: bucket.lag.encode(), late: bucket.late, dropped: bucket.dropped });
      this.#buckets.delete(t);
    }
    this.#dirty = new Set();
    return out;
  }

  /** Adds a worker's drained buckets (the run's side). */
  merge(encoded: readonly EncodedBucket[]): void {
    for (const e of encoded) {
      const bucket = this.#bucket(e.t);
      for (const o of e.ops) {
        let entry = bucket.ops.get(o.op);
        if (!entry) bucket.ops.set(o.op, (entry = { requests: 0, errors: 0, latency: new LatencyHistogram() }));
        entry.requests += o.requests;
        entry.errors += o.errors;
        entry.latency.add(LatencyHistogram.decode(o.latency));
      }
      bucket.lag.add(LatencyHistogram.decode(e.lag));
      bucket.late += e.late;
      bucket.dropped += e.dropped;
    }
    this.#dirty.clear();
  }

  /** Successful requests in the seconds that start at or after `ms` (as far as merged so far). */
  successesDueFrom(ms: number): number {
    let ok = 0;
    for (const [t, bucket] of this.#buckets) {
      if (t - this.#bucketMs < ms) continue;
      for (const e of bucket.ops.values()) ok += e.requests - e.errors;
    }
    return ok;
  }

  /** The ops seen, in the order given first, then any others (a script's requests) by name. */
  ops(known: readonly string[] = []): string[] {
    const seen = new Set<string>();
    for (const bucket of this.#buckets.values()) for (const op of bucket.ops.keys()) seen.add(op);
    return [...known.filter((op) => seen.has(op)), ...[...seen].filter((op) => !known.includes(op)).sort()];
  }

  /** Totals over the run (or over the seconds that start at or after `fromMs`): per op, and every op together. */
  totals(fromMs = Number.NEGATIVE_INFINITY): { requests: number; errors: number; byOp: Record<string, { requests: number; errors: number; latency: LatencyHistogram }>; lag: LatencyHistogram } {
    const byOp: Record<string, { requests: number; errors: number; latency: LatencyHistogram }> = {};
    const lag = new LatencyHistogram();
    let requests = 0;
    let errors = 0;
    for (const [t, bucket] of this.#buckets) {
      if (t - this.#bucketMs < fromMs) continue;
      lag.add(bucket.lag);
      for (const [op, e] of bucket.ops) {
        const total = (byOp[op] ??= { requests: 0, errors: 0, latency: new LatencyHistogram() });
        total.requests += e.requests;
        total.errors += e.errors;
        total.latency.add(e.latency);
        requests += e.requests;
        errors += e.errors;
      }
    }
    return { requests, errors, byOp, lag };
  }

  /**
   * How well the generator kept its schedule: the share of requests that left late, the lag p99,
   * drops, and the seconds in which it did not keep up (more than 1% late, or any dropped).
   */
  generator(workers: number): GeneratorReport {
    let requests = 0;
    let late = 0;
    let dropped = 0;
    let saturatedSeconds = 0;
    let saturatedFromMs: number | null = null;
    const lag = new LatencyHistogram();
    for (const t of [...this.#buckets.keys()].sort((a, b) => a - b)) {
      const bucket = this.#buckets.get(t)!;
      const n = bucket.lag.count;
      requests += n;
      late += bucket.late;
      dropped += bucket.dropped;
      lag.add(bucket.lag);
      if (n > 0 && (bucket.late / n > SATURATED_LATE_SHARE || bucket.dropped > 0)) {
        saturatedSeconds++;
        saturatedFromMs ??= t - this.#bucketMs;
      }
    }
    return { workers, lateShare: requests === 0 ? 0 : late / requests, lagP99Ms: requests === 0 ? 0 : lag.percentile(99), dropped, saturatedSeconds, saturatedFromMs, seconds: this.#buckets.size };
  }

  /**
   * Where a ramped service broke: the first second of three in a row in which more than 1% of its
   * requests failed or their p99 passed `p99LimitMs`, in which the generator cannot be the cause:
   * it sent every request, and its own lag p99 stayed under a tenth of the limit (latency counts
   * from the due time, so a late send shows, but a lag that small cannot make the p99 or the
   * errors). On a shared machine the generator may leave more than 1% late by 10 ms while the
   * service saturates the cores; that is reported beside it, not mistaken for the break. Null when
   * the service held, or when the generator's limit came first.
   */
  breakpoint(p99LimitMs: number, askedAt: (tMs: number) => number): Breakpoint | null {
    const seconds = [...this.#buckets.keys()].sort((a, b) => a - b);
    const over = seconds.map((t) => {
      const bucket = this.#buckets.get(t)!;
      const { requests, errors, latency } = allOps(bucket);
      const lagP99 = bucket.lag.count === 0 ? 0 : bucket.lag.percentile(99);
      const generatorCause = bucket.dropped > 0 || lagP99 > p99LimitMs / 10;
      const errorRatio = requests === 0 ? 0 : errors / requests;
      const p99 = latency.percentile(99);
      const reason = errorRatio > 0.01 ? `${(errorRatio * 100).toFixed(1)}% of requests failed` : p99 > p99LimitMs ? `latency p99 ${Math.round(p99)} ms > ${p99LimitMs} ms` : undefined;
      return { t: t - this.#bucketMs, generatorCause, lagP99, reason, good: (requests - errors) * (1000 / this.#bucketMs) };
    });
    for (let k = 0; k + 2 < over.length; k++) {
      const run = over.slice(k, k + 3);
      if (!run.every((second) => second.reason)) continue;
      if (run.some((second) => second.generatorCause)) return null;
      const second = run[0]!;
      return { tMs: second.t, ratePerSec: Math.round(askedAt(second.t + this.#bucketMs / 2)), goodPerSec: second.good, reason: second.reason!, generatorLagP99Ms: Math.max(...run.map((x) => x.lagP99)) };
    }
    return null;
  }

  /**
   * Per-second series, stamped at each second's end: `load_requests_per_sec`,
   * `load_errors_per_sec`, `load_error_ratio`, `load_latency_p50_ms`, `load_latency_p99_ms`, per
   * op and for all ops (`op="all"`), and `load_schedule_lag_p99_ms`, `load_late_ratio` (share of
   * requests that left more than 10 ms late) and `load_dropped_per_sec` for the generator itself.
   */
  series(load: string, knownOps: readonly string[] = []): LoadPoint[] {
    const points: LoadPoint[] = [];
    const perSec = 1000 / this.#bucketMs;
    const ops = this.ops(knownOps);
    for (const t of [...this.#buckets.keys()].sort((a, b) => a - b)) {
      const bucket = this.#buckets.get(t)!;
      const all = allOps(bucket);
      const groups: [string, typeof all | undefined][] = [['all', all], ...ops.map((op): [string, typeof all | undefined] => [op, bucket.ops.get(op)])];
      for (const [op, e] of groups) {
        if (!e || e.requests === 0) continue;
        const labels = { load, op };
        points.push(
          { name: 'load_requests_per_sec', labels, t, v: e.requests * perSec },
          { name: 'load_errors_per_sec', labels, t, v: e.errors * perSec },
          { name: 'load_error_ratio', labels, t, v: e.errors / e.requests },
          { name: 'load_latency_p50_ms', labels, t, v: e.latency.percentile(50) },
          { name: 'load_latency_p99_ms', labels, t, v: e.latency.percentile(99) },
        );
      }
      if (bucket.lag.count > 0) {
        points.push(
          { name: 'load_schedule_lag_p99_ms', labels: { load }, t, v: bucket.lag.percentile(99) },
          { name: 'load_late_ratio', labels: { load }, t, v: bucket.late / bucket.lag.count },
          { name: 'load_dropped_per_sec', labels: { load }, t, v: bucket.dropped * perSec },
        );
      }
    }
    return points;
  }
}

/** A second's requests over every op: counts and one merged latency histogram. */
function allOps(bucket: Bucket): { requests: number; errors: number; latency: LatencyHistogram } {
  const all = { requests: 0, errors: 0, latency: new LatencyHistogram() };
  for (const e of bucket.ops.values()) {
    all.requests += e.requests;
    all.errors += e.errors;
    all.latency.add(e.latency);
  }
  return all;
}
