import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../../core/testing.ts';
import { InvalidScenarioError } from '../../core/errors.ts';
import { parseScenario } from './index.ts';

test('a bad script is rejected at validation with its own file:line', (t) => {
  const dir = tempDir(t, 'http-script-bad');
  const scenario = (script: string) => `name: s
twin:
  services:
    ledger: { kind: app, command: [/bin/true], port: 8080 }
load:
  - { name: api, kind: http, target: ledger, rate: 10/s, script: ${script} }
baseline: { warmup: 5s }
faults: []
`;
  const problems = (script: string, body: string) => {
    writeFileSync(join(dir, script), body);
    const file = join(dir, 'scenario.yaml');
    writeFileSync(file, scenario(script));
    try {
      parseScenario(scenario(script), file);
      return [];
    } catch (error) {
      if (!(error instanceof InvalidScenarioError)) throw error;
      return error.problems.map((p) => `${p.line} ${p.path}: ${p.message}`);
    }
  };
  assert.deepEqual(problems('syntax.mjs', 'export default async function ({ http }) {\n  await http.get("/");\n  const x = ;\n}\n'), ['6 load[0].script: syntax.mjs:3: SyntaxError: Unexpected token \';\'']);
  assert.deepEqual(problems('throws.mjs', 'const table = {};\ntable.missing.call();\nexport default () => {};\n'), ['6 load[0].script: throws.mjs:2: TypeError: Cannot read properties of undefined (reading \'call\')']);
  assert.deepEqual(problems('nodefault.mjs', 'export const flow = () => {};\n'), ['6 load[0].script: nodefault.mjs: its default export is missing: export default async function ({ http }) { ... }']);
  assert.deepEqual(problems('good.mjs', 'export default async function ({ http }) { await http.get("/"); }\n'), []);
});

test('executors are checked with the load: a ramp takes stages, not rate; stage keys belong to their executor', () => {
  const problems = (load: string) => {
    try {
      parseScenario(`name: s
twin:
  services:
    etcd: { kind: etcd, replicas: 1 }
load:
  - ${load}
baseline: { warmup: 5s }
faults: []
`);
      return [];
    } catch (error) {
      if (!(error instanceof InvalidScenarioError)) throw error;
      return error.problems.map((p) => `${p.path}: ${p.message}`);
    }
  };
  assert.deepEqual(problems('{ name: kv, kind: etcd-kv, target: etcd, executor: ramping-arrival-rate, rate: 10/s }'), [
    'load[0].rate: a ramping-arrival-rate load takes its rates from startRate and stages[].target, not rate',
    'load[0].stages: a ramping-arrival-rate load needs stages: [{ duration: 30s, target: 500/s }, ...]',
  ]);
  assert.deepEqual(problems('{ name: kv, kind: etcd-kv, target: etcd, rate: 10/s, stages: [{ duration: 5s, target: 20/s }] }'), [
    "load[0].stages: stages belongs to executor: ramping-arrival-rate, and this load's executor is constant-arrival-rate",
  ]);
  assert.deepEqual(problems('{ name: kv, kind: etcd-kv, target: etcd, executor: ramping-arrival-rate, startRate: 0/s, stages: [{ duration: 5s, target: fast }] }'), [
    'load[0].stages[0].target: expected a rate such as "200/s" or "30/m", saw "fast"',
  ]);
  assert.deepEqual(problems('{ name: kv, kind: etcd-kv, target: etcd, executor: ramping-arrival-rate, startRate: 0/s, stages: [{ duration: 5s, target: 200/s }] }'), []);
});

test('resources and resource faults are checked in Kubernetes units, and a squeeze must lower the limit', () => {
  const problems = (service: string, fault: string) => {
    try {
      parseScenario(`name: s
twin:
  services:
    redis: ${service}
baseline: { warmup: 5s }
faults:
  - ${fault}
`);
      return [];
    } catch (error) {
      if (!(error instanceof InvalidScenarioError)) throw error;
      return error.problems.map((p) => `${p.path}: ${p.message}`);
    }
  };
  assert.deepEqual(problems('{ kind: redis, resources: { cpu: 2 cores, memory: 2GB } }', '{ id: f, type: cpu-throttle, target: redis-1, cpu: 100m, at: 5s, duration: 5s }'), [
    'twin.services.redis.resources.cpu: expected a CPU quantity such as "2000m" or "0.5" (1m to 256 cores), saw "2 cores"',
    'twin.services.redis.resources.memory: expected a memory quantity such as "2Gi" or "512Mi" (4Mi to 1Ti), saw "2GB"',
  ]);
  assert.deepEqual(problems('{ kind: redis, resources: { memory: 128Mi } }', '{ id: f, type: memory-squeeze, target: redis-1, memory: 256Mi, at: 5s, duration: 5s }'), [
    "faults[0].memory: a squeeze lowers the limit: redis's limit is 134217728 bytes, and 268435456 is not below it",
  ]);
  const scenario = parseScenario(`name: s
twin:
  services:
    redis: { kind: redis, resources: { cpu: 500m, memory: 128Mi } }
    etcd: { kind: etcd, replicas: 3 }
baseline: { warmup: 5s }
faults:
  - { id: f, type: cpu-throttle, target: etcd.leader, cpu: "0.1", at: 5s, duration: 5s }
`);
  assert.deepEqual(scenario.twin.services.find((s) => s.name === 'redis')!.resources, { cpuMillis: 500, memoryBytes: 128 * 1024 ** 2 });
  // the members of services with limits, and of the service a resource fault targets, get cgroups
  assert.deepEqual(scenario.twin.limited, ['redis', 'etcd']);
});
