import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { InvalidScenarioError } from '../../core/errors.ts';
import { tempDir } from '../../core/testing.ts';
import { loadScenarioFile } from './index.ts';

const SCENARIO = (alerts: string, gates = '') => `name: alerting
twin: { services: { etcd: { kind: etcd } } }
baseline: { warmup: 10s }
faults: [{ id: cut, type: partition, mode: isolate, target: etcd.leader, at: 10s, duration: 5s }]
${alerts}
${gates}`;

async function problems(dir: string, text: string): Promise<string[]> {
  const file = join(dir, 'scenario.yaml');
  writeFileSync(file, text);
  try {
    await loadScenarioFile(file);
    return [];
  } catch (error) {
    assert.ok(error instanceof InvalidScenarioError, String(error));
    return error.problems.map((p) => `${p.line ?? '-'} ${p.path}: ${p.message}`);
  }
}

test('alert rule files are checked by promtool before anything starts; its message comes with the rule file and line', async (t) => {
  const dir = tempDir(t, 'alerts-scenario');
  mkdirSync(join(dir, 'rules'));
  writeFileSync(join(dir, 'rules', 'bad.yaml'), 'groups:\n  - name: etcd\n    rules:\n      - alert: NoLeader\n        expr: etcd_server_has_leader == by 0\n');
  writeFileSync(join(dir, 'rules', 'good.yaml'), 'groups:\n  - name: etcd\n    rules:\n      - alert: NoLeader\n        expr: etcd_server_has_leader == 0\n        for: 1m\n');
  const bad = await problems(dir, SCENARIO('alerts: { rules: [rules/bad.yaml] }'));
  assert.equal(bad.length, 1);
  assert.match(bad[0]!, /^5 alerts\.rules\[0\]: rules\/bad\.yaml:5: group "etcd", rule 1, "NoLeader": could not parse expression: /);
  assert.deepEqual(await problems(dir, SCENARIO('alerts: { rules: [rules/missing.yaml, /etc/passwd] }')), [
    "5 alerts.rules[0]: cannot use rules/missing.yaml: cannot read " + join(dir, 'rules', 'missing.yaml') + ': ENOENT',
    '5 alerts.rules[1]: expected a file in the scenario\'s folder or below it, saw "/etc/passwd" (pass --allow-outside-paths to read files elsewhere)',
  ]);
  assert.deepEqual(await problems(dir, SCENARIO('alerts: { rules: [rules/good.yaml], covers: { Nope: [partition], NoLeader: [toxic] } }')), [
    '5 alerts.covers.Nope: no alert named "Nope" in the rule files (alerts: NoLeader)',
    '5 alerts.covers.NoLeader[0]: expected a fault type or fault id of this scenario (partition, cut), saw "toxic"',
  ]);
  assert.deepEqual(await problems(dir, SCENARIO('', 'gates: { alert_unpaged_faults: ["== 0"] }')), ['6 gates.alert_unpaged_faults: alert_unpaged_faults needs an alerts: section (the team\'s rule files)']);
  const scenario = await loadScenarioFile((writeFileSync(join(dir, 'scenario.yaml'), SCENARIO('alerts: { rules: [rules/good.yaml], evaluationInterval: 2s, alertmanager: { groupWait: 1s } }', 'gates: { "alert_ttd_ms{alert:NoLeader}": ["max < 90000"] }')), join(dir, 'scenario.yaml')));
  assert.deepEqual(scenario.alerts, {
    ruleFiles: [join(dir, 'rules', 'good.yaml')], evaluationIntervalMs: 2000, covers: {},
    rules: [{ name: 'NoLeader', file: 'rules/good.yaml', group: 'etcd', line: 4, expr: 'etcd_server_has_leader == 0', forMs: 60_000, keepFiringForMs: 0, labels: {}, annotations: {} }],
    alertmanager: { groupWaitMs: 1000, groupIntervalMs: 300_000, repeatIntervalMs: 14_400_000 },
  });
});
