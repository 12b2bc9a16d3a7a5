import { sleep } from '../core/units.ts';

/**
 * The run clock: ms since the run's zero (when the twin was ready). Every wait of the run loop
 * goes through it, so a test can run a whole scenario on a fake clock in milliseconds.
 */
export interface Clock {
  /** ms since the run clock's zero */
  now(): number;
  /** sets the zero at this moment; `now()` reads 0 right after */
  start(): void;
  /** resolves at run time `t` (at once when it has passed) or when the signal aborts */
  sleepUntil(t: number, signal?: AbortSignal): Promise<void>;
}

/** The real clock: performance.now(), timers. */
export function realClock(): Clock {
  let zero = performance.now();
  return {
    now: () => performance.now() - zero,
    start() {
      zero = performance.now();
    },
    async sleepUntil(t, signal) {
      const wait = t - (performance.now() - zero);
      if (wait > 0) await sleep(wait, signal);
    },
  };
}

/**
 * A discrete-event clock for tests: time stands still while anything can still run, and jumps to
 * the earliest waiter once the event loop has nothing else to do (checked with setImmediate, after
 * promises settle). Only code that waits through this clock, and does no real I/O in between, sees
 * time as a real run would.
 */
export class FakeClock implements Clock {
  #now = 0;
  readonly #waiters: { t: number; seq: number; resolve: () => void }[] = [];
  #seq = 0;
  #scheduled = false;

  now(): number {
    return this.#now;
  }

  start(): void {
    this.#now = 0;
  }

  sleepUntil(t: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const waiter = { t, seq: this.#seq++, resolve };
      this.#waiters.push(waiter);
      signal?.addEventListener('abort', () => {
        const index = this.#waiters.indexOf(waiter);
        if (index >= 0) this.#waiters.splice(index, 1);
        resolve();
      }, { once: true });
      this.#schedule();
    });
  }

  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      if (this.#waiters.length === 0) return;
      // the earliest waiter (ties in the order they began to wait) moves time forward
      this.#waiters.sort((a, b) => a.t - b.t || a.seq - b.seq);
      const next = this.#waiters.shift()!;
      this.#now = Math.max(this.#now, next.t);
      next.resolve();
      if (this.#waiters.length > 0) this.#schedule();
    });
  }
}
