import { ArrivalSchedule, peakRate, type RateProfile } from './executor.ts';
/**
 * An open-model load generator: request i is due at `i / ratePerSec` and is sent then, whether or
 * not earlier requests have answered. Latency is measured from the due time, not the send time,
 * so a slow target cannot hide its slowness by slowing the generator (coordinated omission).
 */
export interface RequestRecord {
  op: number;
  /** ms since the run clock's zero */
  dueMs: number;
  /** how late the request left, ms */
  lagMs: number;
  /** from due time to answer or give-up, ms */
  latencyMs: number;
  ok: boolean;
  /** never sent: too many requests were in flight */
  dropped?: boolean;
}

export interface OpenModelOptions {
  /** the constant or mean rate: sizes the in-flight cap */
  ratePerSec: number;
  /** how the rate changes over run time (load/executor.ts); constant `ratePerSec` without one */
  profile?: RateProfile;
  /** ms since the run clock's zero; the run clock itself */
  now: () => number;
  /** chooses the operation of request i (an index into the caller's operation list) */
  chooseOp: (i: number) => number;
  /** performs one request; rejects or resolves false on failure */
  execute: (op: number, i: number) => Promise<boolean>;
  /** a request still pending after this long counts as failed */
  timeoutMs: number;
  /** requests beyond this many in flight fail at once instead of piling up */
  maxInFlight?: number;
}

/**
 * The generator on the run's own event loop, for loads whose clients live there (etcd's gRPC
 * client): due times from the executor's schedule, every due request sent on each 2 ms tick,
 * each request kept as a record. HTTP loads send from worker threads instead (load/http/workers.ts).
 */
export class OpenModelGenerator {
  readonly records: RequestRecord[] = [];
  readonly #options: OpenModelOptions;
  readonly #schedule: ArrivalSchedule;
  readonly #maxInFlight: number;
  #startMs = 0;
  #sent = 0;
  #nextDueMs: number;
  #inFlight = 0;
  #timer: NodeJS.Timeout | undefined;
  #pending = new Set<Promise<void>>();
  #stopped = false;

  constructor(options: OpenModelOptions) {
    this.#options = options;
    const profile = options.profile ?? { points: [{ tMs: 0, perSec: options.ratePerSec }] };
    this.#schedule = new ArrivalSchedule(profile);
    this.#nextDueMs = this.#schedule.next();
    const peak = peakRate(profile, options.ratePerSec);
    this.#maxInFlight = options.maxInFlight ?? Math.max(100, Math.ceil(peak * (options.timeoutMs / 1000) * 2));
  }

  /** when the schedule started, on the run clock */
  get startMs(): number {
    return this.#startMs;
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  start(): void {
    this.#startMs = this.#options.now();
    // A short tick keeps lag low without a busy loop; every due request is sent on each tick.
    this.#timer = setInterval(() => this.#tick(), 2);
    this.#tick();
  }

  #tick(): void {
    if (this.#stopped) return;
    const nowMs = this.#options.now();
    while (this.#startMs + this.#nextDueMs <= nowMs) {
      const i = this.#sent++;
      const dueMs = this.#startMs + this.#nextDueMs;
      this.#nextDueMs = this.#schedule.next();
      const op = this.#options.chooseOp(i);
      if (this.#inFlight >= this.#maxInFlight) {
        this.records.push({ op, dueMs, lagMs: nowMs - dueMs, latencyMs: nowMs - dueMs, ok: false, dropped: true });
        continue;
      }
      this.#send(op, i, dueMs, nowMs);
    }
  }
  #send(op: number, i: number, dueMs: number, sentMs: number): void {
    this.#inFlight++;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), Math.max(0, this.#options.timeoutMs - (sentMs - dueMs)));
    });
    const attempt = this.#options.execute(op, i).catch(() => false);
    const settled = Promise.race([attempt, timeout]).then((ok) => {
      clearTimeout(timer);
      this.#inFlight--;
      this.records.push({ op, dueMs, lagMs: sentMs - dueMs, latencyMs: this.#options.now() - dueMs, ok });
      this.#pending.delete(settled);
    });
    this.#pending.add(settled);
  }

  /** Stops sending and waits for the requests in flight (each ends within the timeout). */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#timer);
    await Promise.all(this.#pending);
  }
}
