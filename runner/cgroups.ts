import type { SeriesSink } from '../core/series.ts';
import type { HostResources, ResourceUsage } from '../twin/index.ts';
import type { Clock } from './clock.ts';

/**
 * Every interval, the kernel's counters of each host that has cgroups, as series labelled
 * `{member}`: `cgroup_cpu_throttled_ratio` (throttled CPU periods over periods in the interval),
 * `cgroup_memory_usage_bytes`, `cgroup_memory_failcnt:rate` (charges refused at the limit, per
 * second), `cgroup_oom_kills` (since the host started), and the limits in force,
 * `cgroup_cpu_quota_cores` and `cgroup_memory_limit_bytes` (absent while unlimited).
 */
export function pollCgroups(hosts: ReadonlyMap<string, HostResources>, clock: Clock, intervalMs: number, store: SeriesSink): () => Promise<void> {
  const stopped = new AbortController();
  const last = new Map<string, { t: number; usage: ResourceUsage }>();
  const loop = (async () => {
    while (!stopped.signal.aborted) {
      const started = clock.now();
      for (const [member, resources] of hosts) {
        let usage: ResourceUsage;
        let limits;
        try {
          usage = resources.usage();
          limits = resources.readBack();
        } catch {
          continue; // the host is going away
        }
        const t = Math.round(clock.now());
        const labels = { member };
        const previous = last.get(member);
        if (previous && t > previous.t) {
          const periods = usage.cpuPeriods - previous.usage.cpuPeriods;
          store.append('cgroup_cpu_throttled_ratio', labels, t, periods > 0 ? (usage.cpuThrottledPeriods - previous.usage.cpuThrottledPeriods) / periods : 0);
          store.append('cgroup_memory_failcnt:rate', labels, t, ((usage.memoryFailcnt - previous.usage.memoryFailcnt) * 1000) / (t - previous.t));
        }
        store.append('cgroup_memory_usage_bytes', labels, t, usage.memoryBytes);
        store.append('cgroup_oom_kills', labels, t, usage.oomKills);
        if (limits.cpuMillis !== undefined) store.append('cgroup_cpu_quota_cores', labels, t, limits.cpuMillis / 1000);
        if (limits.memoryBytes !== undefined) store.append('cgroup_memory_limit_bytes', labels, t, limits.memoryBytes);
        last.set(member, { t, usage });
      }
      await clock.sleepUntil(started + intervalMs, stopped.signal);
    }
  })();
  return async () => {
    stopped.abort();
    await loop;
  };
}
