import { Worker } from 'node:worker_threads';
import { availableParallelism } from 'node:os';
import { performance } from 'node:perf_hooks';
import { MoatError } from '../../core/errors.ts';
import { LoadStats } from '../stats.ts';
import type { WorkerConfig, WorkerMessage } from './worker.ts';

/** Requests per second one worker thread is asked to carry before `workers: auto` adds another. */
export const RATE_PER_WORKER = 4000;

/**
 * The sending side of an HTTP load, off the run's event loop: worker threads that share the
 * schedule (the executor's profile, the seed, the load's start on the run clock) and split the
 * arrivals between them (request i goes to worker i mod n), each with its own keep-alive
 * connection pool. Their per-second stats arrive once a second and are merged here.
 */
export class HttpWorkers {
  readonly stats = new LoadStats();
  readonly #workers: Worker[] = [];
  readonly #online: Promise<void>;
  readonly #done: Promise<number[]>;
  readonly #timeoutMs: number;
  #error: string | undefined;

  constructor(options: Omit<WorkerConfig, 'index' | 'count' | 'startMs' | 'zeroEpochMs' | 'connections' | 'maxInFlight'> & { workers: number; connections: number; peakRatePerSec: number; now: () => number }) {
    const count = options.workers;
    this.#timeoutMs = options.timeoutMs;
    // the run clock's zero as a high-resolution epoch: workers read the same clock from it
    const zeroEpochMs = performance.timeOrigin + performance.now() - options.now();
    const maxInFlight = Math.max(100, Math.ceil((options.peakRatePerSec * (options.timeoutMs / 1000) * 2) / count));
    const online: Promise<void>[] = [];
    const done: Promise<number>[] = [];
    for (let index = 0; index < count; index++) {
      const config: Omit<WorkerConfig, 'startMs'> = {
        origin: options.origin, requests: options.requests, seed: options.seed, profile: options.profile, zeroEpochMs, index, count,
        timeoutMs: options.timeoutMs, connections: Math.max(1, Math.ceil(options.connections / count)), maxInFlight,
        ...(options.script ? { script: options.script } : {}),
      };
      const worker = new Worker(new URL('./worker.ts', import.meta.url), { workerData: config, name: `moat-load-${index}` });
      this.#workers.push(worker);
      online.push(new Promise((resolve, reject) => {
        worker.once('message', (m: { type: string }) => (m.type === 'ready' ? resolve() : reject(new MoatError(`load worker ${index} did not start`))));
        worker.once('error', reject);
      }));
      done.push(new Promise((resolve) => {
        let busy = 0;
        worker.on('message', (message: WorkerMessage | { type: 'ready' }) => {
          if (message.type === 'stats') this.stats.merge(message.buckets);
          else if (message.type === 'done') busy = message.busyShare;
          else if (message.type === 'error') this.#error ??= message.message;
        });
        worker.on('error', (error) => {
          this.#error ??= error.message;
        });
        worker.on('exit', () => resolve(busy));
      }));
    }
    this.#online = Promise.all(online).then(() => undefined);
    this.#done = Promise.all(done);
  }

  /** Resolves once every worker has loaded its pool (and the script): then it can send on time. */
  ready(): Promise<void> {
    return this.#online;
  }

  /** Starts the schedule at `startMs` on the run clock, in every worker. */
  start(startMs: number): void {
    for (const worker of this.#workers) worker.postMessage({ type: 'start', startMs });
  }

  /** Stops sending; resolves with the workers' busy share (1 = one core) once their last requests settled. */
  async stop(): Promise<number> {
    for (const worker of this.#workers) worker.postMessage({ type: 'stop' });
    // each request ends within its timeout; a worker still there long after is ended
    const timer = setTimeout(() => this.close(), this.#timeoutMs + 10_000);
    const busy = await this.#done;
    clearTimeout(timer);
    return busy.reduce((a, b) => a + b, 0);
  }

  /** What went wrong in a worker, if anything (a script's top level, a crash). */
  get error(): string | undefined {
    return this.#error;
  }

  close(): void {
    for (const worker of this.#workers) void worker.terminate();
  }
}

/** Worker threads for a peak rate: one per RATE_PER_WORKER requests/s, at most one per core. */
export function workersFor(peakRatePerSec: number, asked: number | 'auto'): number {
  if (asked !== 'auto') return asked;
  return Math.max(1, Math.min(availableParallelism(), Math.ceil(peakRatePerSec / RATE_PER_WORKER)));
}
