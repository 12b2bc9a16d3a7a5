import { MoatError } from './errors.ts';
/**
 * Durations and rates as written in scenario files.
 *
 *   duration := number unit        unit := ms | s | m | h | d | w   e.g. "250ms", "20s", "1.5m", "1d"
 *   rate     := number "/" unit    unit := s | m               e.g. "200/s", "30/m"
 */
const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h|d|w)$/;
const RATE = /^(\d+(?:\.\d+)?)\/(s|m)$/;
const MS_PER_UNIT: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** Milliseconds for a duration string, or undefined when it does not parse. */
export function parseDurationMs(text: string): number | undefined {
  const match = DURATION.exec(text.trim());
  if (!match) return undefined;
  return Number(match[1]) * MS_PER_UNIT[match[2]!]!;
}

/** Events per second for a rate string, or undefined when it does not parse. */
export function parseRatePerSec(text: string): number | undefined {
  const match = RATE.exec(text.trim());
  if (!match) return undefined;
  const count = Number(match[1]);
  return match[2] === 's' ? count : count / 60;
}

export function formatMs(ms: number): string {
  if (!Number.isFinite(ms)) return String(ms);
  if (Math.abs(ms) < 1000) return `${Math.round(ms)} ms`;
  if (Math.abs(ms) < 120_000) return `${(ms / 1000).toFixed(ms % 1000 === 0 ? 0 : 1)} s`;
  return `${(ms / 60_000).toFixed(1)} min`;
}

/** A signed offset such as `+12 ms` or `-1 ms`. */
export function signedMs(ms: number): string {
  const rounded = Math.round(ms);
  return `${rounded >= 0 ? '+' : ''}${rounded} ms`;
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      signal?.removeEventListener('abort', done);
      clearTimeout(timer);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** Polls `probe` every `everyMs` until it returns a value; throws naming `what` after `timeoutMs`. */
export async function waitFor<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new MoatError(`${what} not seen within ${timeoutMs} ms`);
    await sleep(everyMs);
  }
}
