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

/** A Kubernetes CPU quantity in millicores: "2000m", "2", "0.5" (at most 256 cores); undefined if it does not parse. */
export function parseCpuMillis(text: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)(m?)\s*$/.exec(text);
  if (!m) return undefined;
  const millis = m[2] ? Number(m[1]) : Number(m[1]) * 1000;
  return Number.isFinite(millis) && millis >= 1 && millis <= 256_000 ? Math.round(millis) : undefined;
}

const MEMORY_UNITS: Record<string, number> = { '': 1, k: 1e3, M: 1e6, G: 1e9, Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3 };

/** A Kubernetes memory quantity in bytes: "2Gi", "512Mi", "64M", "1000000" (4 MiB to 1 TiB); undefined if it does not parse. */
export function parseMemoryBytes(text: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)(k|M|G|Ki|Mi|Gi)?\s*$/.exec(text);
  if (!m) return undefined;
  const bytes = Math.round(Number(m[1]) * MEMORY_UNITS[m[2] ?? '']!);
  return bytes >= 4 * 1024 ** 2 && bytes <= 1024 ** 4 ? bytes : undefined;
}

/** Bytes the way a person reads them: "64 MiB", "1.5 GiB". */
export function formatBytes(bytes: number): string {
  if (bytes >= 1024 ** 3) return `${Number((bytes / 1024 ** 3).toFixed(2))} GiB`;
  if (bytes >= 1024 ** 2) return `${Number((bytes / 1024 ** 2).toFixed(1))} MiB`;
  return `${Number((bytes / 1024).toFixed(1))} KiB`;
}
