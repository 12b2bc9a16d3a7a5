import { peakRate, rateProfile } from '../executor.ts';
import type { LoadPoint } from '../summarize.ts';
import { resultOf, type Load, type LoadResult } from '../types.ts';
import type { LoadStats } from '../stats.ts';
import type { HttpLoadSpec } from './spec.ts';
import { HttpWorkers, workersFor } from './workers.ts';

/** k6's names for the load's own series, per second. */
const K6_NAMES = new Map([['load_latency_p50_ms', 'http_req_duration_p50_ms'], ['load_latency_p99_ms', 'http_req_duration_p99_ms'], ['load_error_ratio', 'http_req_failed'], ['load_requests_per_sec', 'iterations']]);

/**
 * Built-in open-model HTTP load against an app: a seeded weighted mix of requests (or the
 * scenario's script) on the executor's schedule, sent from worker threads with keep-alive undici
 * pools, latency from each request's due time into per-second HDR histograms. A 2xx answer is a
 * success. Besides the `load_*` series it writes the names k6 users know, per second:
 * `http_req_duration_p50_ms`, `http_req_duration_p99_ms`, `http_req_failed` (ratio), `iterations`.
 */
export class HttpLoad implements Load {
  readonly spec: HttpLoadSpec;
  readonly #workers: HttpWorkers;
  readonly #count: number;
  readonly #now: () => number;
  #busyShare: number | undefined;
  #startedMs: number | undefined;
  #stopped: Promise<void> | undefined;

  constructor(options: { spec: HttpLoadSpec; baseUrl: string; seed: number; now: () => number; warmupPath?: string }) {
    const { spec } = options;
    this.spec = spec;
    this.#now = options.now;
    const profile = rateProfile(spec.executor, spec.ratePerSec);
    const peak = peakRate(profile, spec.ratePerSec);
    this.#count = workersFor(peak, spec.workers);
    this.#workers = new HttpWorkers({
      origin: options.baseUrl, seed: options.seed, profile, timeoutMs: spec.timeoutMs, workers: this.#count, connections: spec.connections, peakRatePerSec: peak, now: options.now,
      requests: spec.requests.map((r) => ({ name: r.name, method: r.method, path: r.path, weight: r.weight, ...(r.body === undefined ? {} : { body: typeof r.body === 'string' ? r.body : JSON.stringify(r.body) }) })),
      ...(spec.script ? { script: spec.script } : {}),
      ...(options.warmupPath ? { warmupPath: options.warmupPath } : {}),
    });
  }

  /** The workers have loaded (pools, the script): the schedule can start on time. */
  ready(): Promise<void> {
    return this.#workers.ready();
  }

  start(): void {
    this.#startedMs = this.#now();
    this.#workers.start(this.#startedMs);
  }

  stop(): Promise<void> {
    return (this.#stopped ??= this.#workers.stop().then((busy) => {
      this.#busyShare = busy;
    }));
  }

  /** The load's per-second stats, merged from the workers so far (they report once a second). */
  get stats(): LoadStats {
    return this.#workers.stats;
  }

  series(): LoadPoint[] {
    const points = this.#workers.stats.series(this.spec.name, this.spec.requests.map((r) => r.name));
    const labels = { load: this.spec.name };
    for (const p of [...points]) {
      const alias = K6_NAMES.get(p.name);
      if (alias && p.labels.op === 'all') points.push({ name: alias, labels, t: p.t, v: p.v });
    }
    return points;
  }

  async result(): Promise<LoadResult> {
    const result = resultOf(this.spec, this.#workers.stats, this.#count, this.#startedMs ?? 0);
    if (this.#busyShare !== undefined) result.generator!.cpuShare = this.#busyShare;
    if (this.#workers.error) result.readBackError = `a load worker failed: ${this.#workers.error.split('\n')[0]}`;
    return result;
  }

  close(): void {
    this.#workers.close();
  }
}

/** The seed of an HTTP load's request mix, from the run's seeded randomness for this load. */
export function seedOf(next: () => number): number {
  return Math.floor(next() * 4294967296) >>> 0;
}
