/**
 * Applying or healing a fault takes time (an nftables commit here is 10-40 ms). To have a fault in
 * effect at the moment the scenario asks for, the run loop starts each action early by the median
 * of the recent actuation times of that kind. The journal records both the lead and the actuation
 * time, so the precision figures stay checkable.
 */
/** A lead never exceeds this: longer actions (a restart that waits for health) are not actuation latency. */
export const MAX_LEAD_MS = 250;

export class ActuationLead {
  readonly #recent: number[] = [];
  readonly #initialMs: number;
  readonly #window: number;

  constructor(initialMs: number, window = 9) {
    this.#initialMs = initialMs;
    this.#window = window;
  }

  /** How early to start the next action, ms (at most MAX_LEAD_MS). */
  get leadMs(): number {
    if (this.#recent.length === 0) return Math.min(MAX_LEAD_MS, this.#initialMs);
    const sorted = [...this.#recent].sort((a, b) => a - b);
    return Math.min(MAX_LEAD_MS, sorted[sorted.length >> 1]!);
  }

  observe(actuationMs: number): void {
    this.#recent.push(actuationMs);
    if (this.#recent.length > this.#window) this.#recent.shift();
  }
}
