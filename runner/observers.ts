import type { TimelineEvent } from '../core/journal.ts';
import { errorMessage } from '../core/errors.ts';

/**
 * Hooks into a run. Every hook is optional; an observer that throws is reported on stderr and
 * never aborts the run.
 */
export interface RunObserver {
  /** a phase begins: `twin-up`, `warm-up`, `faults`, `recovery`, `teardown`, `analysis` */
  phase?(name: string, detail: string): void;
  /** something happened on the run clock */
  event?(event: TimelineEvent): void;
  /** about once a second while the twin runs: t and a one-line state */
  tick?(t: number, state: string): void;
  /** a line of progress outside the run clock (images being built before the twin starts) */
  note?(line: string): void;
  /** the run is over */
  end?(status: string): void;
}

export function fanOut(observers: readonly RunObserver[]): Required<RunObserver> {
  const call = <K extends keyof RunObserver>(hook: K, ...args: Parameters<Required<RunObserver>[K]>) => {
    for (const observer of observers) {
      try {
        (observer[hook] as ((...a: unknown[]) => void) | undefined)?.apply(observer, args);
      } catch (error) {
        process.stderr.write(`moat: observer ${hook} failed: ${errorMessage(error)}\n`);
      }
    }
  };
  return {
    phase: (name, detail) => call('phase', name, detail),
    event: (event) => call('event', event),
    tick: (t, state) => call('tick', t, state),
    note: (line) => call('note', line),
    end: (status) => call('end', status),
  };
}

/**
 * Progress for people: a live status line when stdout is a terminal, one line per phase and
 * event on stderr otherwise (so CI logs show what happened and when).
 */
export function progressObserver(stream: NodeJS.WriteStream = process.stdout): RunObserver {
  const tty = stream.isTTY === true;
  const out = tty ? stream : process.stderr;
  let statusShown = false;
  const clear = () => {
    if (tty && statusShown) out.write('\r\x1b[2K');
    statusShown = false;
  };
  const stamp = (t: number) => `[${(t / 1000).toFixed(1).padStart(6)} s]`;
  return {
    phase(name, detail) {
      clear();
      out.write(`moat: ${name}${detail ? ` - ${detail}` : ''}\n`);
    },
    event(event) {
      clear();
      out.write(`moat: ${stamp(event.t)} ${event.kind}: ${event.detail}\n`);
    },
    tick(t, state) {
      if (!tty) return;
      out.write(`\r\x1b[2K${stamp(t)} ${state}`);
      statusShown = true;
    },
    note(line) {
      clear();
      out.write(`moat: ${line}\n`);
    },
    end() {
      clear();
    },
  };
}
