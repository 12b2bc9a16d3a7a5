import { percentile } from '../core/thresholds.ts';
import type { RequestRecord } from './open-model.ts';

export interface LoadPoint {
  name: string;
  labels: Record<string, string>;
  t: number;
  v: number;
}

/**
 * Per-second series of a load, by the second each request was due in:
 * `load_requests_per_sec`, `load_errors_per_sec`, `load_error_ratio`, `load_latency_p50_ms`,
 * `load_latency_p99_ms`, per op and for all ops (`op="all"`), and `load_schedule_lag_p99_ms`.
 * A point at t covers requests due in [t - 1 s, t): it is stamped when its value can first be known.
 */
export function loadSeries(load: string, ops: readonly string[], records: readonly RequestRecord[], bucketMs = 1000): LoadPoint[] {
  const buckets = new Map<number, RequestRecord[]>();
  for (const record of records) {
    // a point is stamped with the end of its bucket: that is when its value can be known
    const bucket = (Math.floor(record.dueMs / bucketMs) + 1) * bucketMs;
    let list = buckets.get(bucket);
    if (!list) buckets.set(bucket, (list = []));
    list.push(record);
  }
  const points: LoadPoint[] = [];
  const perSec = 1000 / bucketMs;
  for (const t of [...buckets.keys()].sort((a, b) => a - b)) {
    const all = buckets.get(t)!;
    const groups: [string, RequestRecord[]][] = [['all', all], ...ops.map((op, index): [string, RequestRecord[]] => [op, all.filter((r) => r.op === index)])];
    for (const [op, list] of groups) {
      if (list.length === 0) continue;
      const labels = { load, op };
      const errors = list.filter((r) => !r.ok).length;
      const latencies = list.map((r) => r.latencyMs);
      points.push(
        { name: 'load_requests_per_sec', labels, t, v: list.length * perSec },
        { name: 'load_errors_per_sec', labels, t, v: errors * perSec },
        { name: 'load_error_ratio', labels, t, v: errors / list.length },
        { name: 'load_latency_p50_ms', labels, t, v: percentile(latencies, 50) },
        { name: 'load_latency_p99_ms', labels, t, v: percentile(latencies, 99) },
      );
    }
    points.push({ name: 'load_schedule_lag_p99_ms', labels: { load }, t, v: percentile(all.map((r) => r.lagMs), 99) });
  }
  return points;
}
