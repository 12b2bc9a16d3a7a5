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
}

export interface OpenModelOptions {
  ratePerSec: number;
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
  /** a rate that changes over time (ms since start → per second), e.g. a replayed traffic shape */
  rateAt?: (tMs: number) => number;
}

export class OpenModelGenerator {
  readonly records: RequestRecord[] = [];
  readonly #options: OpenModelOptions;
  #startMs = 0;
  #sent = 0;
  #inFlight = 0;
  #timer: NodeJS.Timeout | undefined;
  #pending = new Set<Promise<void>>();
  #stopped = false;
  #lastTickMs = 0;
  #credit = 0;

  constructor(options: OpenModelOptions) {
    this.#options = options;
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  start(): void {
    this.#startMs = this.#options.now();
    this.#lastTickMs = this.#startMs;
    // A short tick keeps lag low without a busy loop; every due request is sent on each tick.
    this.#timer = setInterval(() => this.#tick(), 2);
    this.#tick();
  }

  #tick(): void {
    if (this.#stopped) return;
    const { ratePerSec, now, rateAt } = this.#options;
    const nowMs = now();
    if (rateAt) {
      this.#tickVariable(nowMs, rateAt);
      return;
    }
    const due = Math.floor(((nowMs - this.#startMs) * ratePerSec) / 1000) + 1;
    const maxInFlight = this.#options.maxInFlight ?? Math.max(100, Math.ceil(ratePerSec * (this.#options.timeoutMs / 1000) * 2));
    while (this.#sent < due) {
      const i = this.#sent++;
      const dueMs = this.#startMs + (i * 1000) / ratePerSec;
      const op = this.#options.chooseOp(i);
      if (this.#inFlight >= maxInFlight) {
        this.records.push({ op, dueMs, lagMs: nowMs - dueMs, latencyMs: nowMs - dueMs, ok: false });
        continue;
      }
      this.#send(op, i, dueMs, nowMs);
    }
  }

  /** Variable rate: the integral of the rate since the last tick says how many are due, spread evenly over it. */
  #tickVariable(nowMs: number, rateAt: (tMs: number) => number): void {
    const dt = nowMs - this.#lastTickMs;
    if (dt <= 0) return;
    this.#credit += (Math.max(0, rateAt(this.#lastTickMs + dt / 2 - this.#startMs)) * dt) / 1000;
    const count = Math.floor(this.#credit);
    this.#credit -= count;
    const maxInFlight = this.#options.maxInFlight ?? Math.max(100, Math.ceil(this.#options.ratePerSec * (this.#options.timeoutMs / 1000) * 4));
    for (let k = 0; k < count; k++) {
      const i = this.#sent++;
      const dueMs = this.#lastTickMs + (dt * (k + 1)) / count;
      const op = this.#options.chooseOp(i);
      if (this.#inFlight >= maxInFlight) this.records.push({ op, dueMs, lagMs: nowMs - dueMs, latencyMs: nowMs - dueMs, ok: false });
      else this.#send(op, i, dueMs, nowMs);
    }
    this.#lastTickMs = nowMs;
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
