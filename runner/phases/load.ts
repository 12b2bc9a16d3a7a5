import { SeededRandom } from '../../core/random.ts';
import { loadKindOf } from '../../load/index.ts';
import type { RunContext } from '../context.ts';

/**
 * Starts every load at t = 0, each with randomness of its own from the run's seed and its name;
 * loads that send from worker threads are started once those are ready.
 */
export async function startLoad(run: RunContext): Promise<void> {
  const clockZeroEpochMs = Date.parse(run.journal.clockZero ?? new Date().toISOString());
  for (const spec of run.scenario.load) {
    const load = loadKindOf(spec).create(spec, {
      twin: run.startedTwin, runId: run.runId, runDir: run.runDir, ledger: run.ledger, now: () => run.now(), clockZeroEpochMs,
      random: new SeededRandom(run.seed ^ hashString(spec.name)),
    });
    run.loads.push(load);
  }
  await run.activity('load-ready', () => Promise.all(run.loads.map((l) => l.ready?.())));
  for (const load of run.loads) load.start();
}

/** After the recovery window: stop sending, then read every acknowledged write back. */
export async function readBack(run: RunContext): Promise<void> {
  await run.activity('stop-load', () => Promise.all(run.loads.map((l) => l.stop())));
  for (const load of run.loads) {
    run.loadResults.push(await run.activity(`read-back ${load.spec.name}`, () => load.result(), { output: (r) => ({ acked: r.ackedWrites, lost: r.lostWrites }) }));
  }
}

function hashString(text: string): number {
  let hash = 2166136261;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 16777619) >>> 0;
  return hash;
}
