import type { RequestRecord } from './open-model.ts';
import { LoadStats, type LoadPoint } from './stats.ts';

export type { LoadPoint } from './stats.ts';

/** Records of a generator on the run's event loop, summed per second (see LoadStats.series). */
export function statsOf(ops: readonly string[], records: readonly RequestRecord[], bucketMs = 1000): LoadStats {
  const stats = new LoadStats(bucketMs);
  for (const r of records) {
    const op = ops[r.op] ?? String(r.op);
    if (r.dropped) stats.dropped(op, r.dueMs, r.lagMs);
    else stats.record(op, r.dueMs, r.lagMs, r.latencyMs, r.ok);
  }
  return stats;
}

/** Per-second series of a load from its records (see LoadStats.series for the names). */
export function loadSeries(load: string, ops: readonly string[], records: readonly RequestRecord[], bucketMs = 1000): LoadPoint[] {
  return statsOf(ops, records, bucketMs).series(load, ops);
}
