import type { SeriesSink } from '../core/series.ts';
import type { StartedTwin } from '../twin/index.ts';
import type { Clock } from './clock.ts';

/** How often the run asks every leader-based service who leads. */
export const LEADER_POLL_MS = 200;

/**
 * Polls every leader-based service every 200 ms. Reports leader changes (a new leader, or the same
 * one elected again in a later term), and records whether the members agree, both as a callback
 * and as the series `moat_leader_agreed{service}` (1 or 0). A poll that no member answered says
 * nothing about who leads, and changes nothing.
 */
export function pollLeaders(twin: StartedTwin, clock: Clock, onChange: (service: string, from: string | null, to: string | null, term: number) => void, onSample: (t: number, agreed: boolean) => void, store: SeriesSink): () => Promise<void> {
  const stopped = new AbortController();
  const last = new Map<string, { leader: string | null; term: number }>();
  const loop = (async () => {
    while (!stopped.signal.aborted) {
      const started = clock.now();
      for (const [name, service] of twin.services) {
        if (!service.leaderBased) continue;
        const view = await service.leader(150);
        const t = Math.round(clock.now());
        const previous = last.get(name);
        if (view.views.some((v) => v.reachable)) {
          const changed = (previous?.leader ?? null) !== view.leader || (view.leader !== null && previous?.term !== view.term);
          if (changed) onChange(name, previous?.leader ?? null, view.leader, view.term);
          last.set(name, { leader: view.leader, term: view.term });
        }
        const agreed = view.agreed && view.leader !== null && view.views.every((v) => v.reachable);
        onSample(t, agreed);
        store.append('moat_leader_agreed', { service: name }, t, agreed ? 1 : 0);
      }
      await clock.sleepUntil(started + LEADER_POLL_MS, stopped.signal);
    }
  })();
  return async () => {
    stopped.abort();
    await loop;
  };
}
