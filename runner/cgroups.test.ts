import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from './clock.ts';
import { pollCgroups } from './cgroups.ts';
import type { HostResources, ResourceLimits, ResourceUsage } from '../twin/index.ts';

/** A host's cgroups whose counters move as the test says. */
function fakeHost(usageAt: (t: number) => ResourceUsage, limits: ResourceLimits, clock: FakeClock): HostResources {
  return { limits, set() {}, readBack: () => limits, usage: () => usageAt(clock.now()) };
}

test('cgroup counters become per-interval series: throttled share, refused charges per second, memory and limits', async () => {
  const clock = new FakeClock();
  const points: { name: string; t: number; v: number }[] = [];
  const store = { append: (name: string, _labels: Record<string, string>, t: number, v: number) => points.push({ name, t, v }) };
  // every second: 100 CPU periods, 25 of them throttled; 3 refused charges; memory grows 1 MiB
  const host = fakeHost((t) => ({ cpuPeriods: t / 10, cpuThrottledPeriods: t / 40, cpuThrottledMs: 0, memoryBytes: 2 ** 20 * (10 + t / 1000), memoryMaxBytes: 0, memoryFailcnt: (3 * t) / 1000, oomKills: 0 }), { cpuMillis: 250, memoryBytes: 64 * 2 ** 20 }, clock);
  const stop = pollCgroups(new Map([['app-1', host]]), clock, 1000, store);
  await clock.sleepUntil(3500);
  await stop();
  const series = (name: string) => points.filter((p) => p.name === name).map((p) => [p.t, p.v]);
  assert.deepEqual(series('cgroup_cpu_throttled_ratio'), [[1000, 0.25], [2000, 0.25], [3000, 0.25]]);
  assert.deepEqual(series('cgroup_memory_failcnt:rate'), [[1000, 3], [2000, 3], [3000, 3]]);
  assert.deepEqual(series('cgroup_memory_usage_bytes').map(([t, v]) => [t, v! / 2 ** 20]), [[0, 10], [1000, 11], [2000, 12], [3000, 13]]);
  assert.deepEqual(series('cgroup_cpu_quota_cores')[0], [0, 0.25]);
  assert.deepEqual(series('cgroup_memory_limit_bytes')[0], [0, 64 * 2 ** 20]);
});
