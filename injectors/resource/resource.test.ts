import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../../core/testing.ts';
import type { ServiceSpec } from '../../core/scenario.ts';
import { startTestTwin, verifyThenHeal } from '../testing.ts';
import { cpuThrottleInjector, memorySqueezeInjector } from './index.ts';

const MiB = 1024 ** 2;

test('a service with resources runs in cgroups from its first instruction; cpu-throttle and memory-squeeze change them, the kernel shows it, heal puts them back, teardown removes them', async (t) => {
  const www = tempDir(t, 'resource-www');
  // a member that answers its health check and burns CPU: a shell loop beside a static HTTP server
  const app: ServiceSpec = {
    name: 'burner', kind: 'app', replicas: 1, port: 8080, health: '/', env: {}, links: [],
    command: ['sh', '-c', `python3 -m http.server 8080 --directory ${www} >/dev/null 2>&1 & while :; do :; done`],
    config: { memoryLimitMiB: 256, breaker: { errorRate: 0.3, timeoutMs: 200, sleepWindowMs: 2000, minRequests: 10 } },
    resources: { cpuMillis: 500, memoryBytes: 256 * MiB },
  };
  const { twin, context } = await startTestTwin(t, 1, [app]);
  const cgroupName = `moat-${context.runId}-burner-1`;
  try {
    const member = twin.service('burner').members[0]!;
    // the kernel's own account of where the process is
    const groups = readFileSync(`/proc/${member.process.pid}/cgroup`, 'utf8');
    assert.match(groups, new RegExp(`:cpu(,cpuacct)?:/${cgroupName}$|:cpu:/${cgroupName}\\n`, 'm'));
    assert.match(groups, new RegExp(`:memory:/${cgroupName}$`, 'm'));
    const resources = twin.backend.resources('burner-1')!;
    assert.deepEqual(resources.readBack(), { cpuMillis: 500, memoryBytes: 256 * MiB });

    const throttle = await cpuThrottleInjector.inject({ id: 'slow-cpu', type: 'cpu-throttle', target: { kind: 'member', service: 'burner', member: 'burner-1', source: 'burner-1' }, cpuMillis: 100, atMs: 0, durationMs: 0 }, context);
    const cpuEvidence = await verifyThenHeal(throttle);
    assert.match(cpuEvidence[0]!.detail, /CPU quota reads 100m/);
    assert.match(cpuEvidence[1]!.detail, /throttled in \d+ of \d+ CPU periods/);
    assert.equal(resources.readBack().cpuMillis, 500, 'heal puts the quota back');

    const squeeze = await memorySqueezeInjector.inject({ id: 'tight', type: 'memory-squeeze', target: { kind: 'member', service: 'burner', member: 'burner-1', source: 'burner-1' }, memoryBytes: 96 * MiB, atMs: 0, durationMs: 0 }, context);
    const memoryEvidence = await verifyThenHeal(squeeze);
    assert.match(memoryEvidence[0]!.detail, /memory limit reads 96 MiB/);
    assert.equal(resources.readBack().memoryBytes, 256 * MiB, 'heal puts the limit back');
  } finally {
    await twin.down();
  }
  for (const controller of ['cpu', 'memory']) assert.equal(existsSync(join('/sys/fs/cgroup', controller, cgroupName)), false, `${controller} cgroup removed`);
});
