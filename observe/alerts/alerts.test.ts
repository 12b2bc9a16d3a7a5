import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../../core/testing.ts';
import { checkRuleFile, episodesFromAlerts, episodesFromExpression, exposition, prometheusConfig, prometheusDurationMs, promtoolProblems, readAlertRules } from '../index.ts';

test('promtool is the judge of a rule file: its problems come back with the file and line', (t) => {
  const dir = tempDir(t, 'rules');
  const bad = join(dir, 'bad.yaml');
  writeFileSync(bad, 'groups:\n  - name: etcd\n    rules:\n      - alert: NoLeader\n        expr: etcd_server_has_leader == by 0\n        for: 1m\n');
  const problems = checkRuleFile(bad, 'rules/bad.yaml');
  assert.equal(problems.length, 1);
  assert.equal(problems[0]!.file, 'rules/bad.yaml');
  assert.equal(problems[0]!.line, 5);
  assert.match(problems[0]!.message, /group "etcd", rule 1, "NoLeader": could not parse expression/);
  const good = join(dir, 'good.yaml');
  writeFileSync(good, 'groups:\n  - name: g\n    interval: 2s\n    rules:\n      - record: x\n        expr: up\n      - alert: Down\n        expr: up == 0\n        for: 1m30s\n        keep_firing_for: 10s\n        labels: { severity: page }\n        annotations: { covers: "partition" }\n');
  assert.deepEqual(checkRuleFile(good), []);
  assert.deepEqual(readAlertRules(good, 'good.yaml'), [{
    name: 'Down', file: 'good.yaml', group: 'g', line: 7, expr: 'up == 0', forMs: 90_000, keepFiringForMs: 10_000,
    labels: { severity: 'page' }, annotations: { covers: 'partition' }, intervalMs: 2000,
  }]);
  // promtool's other shapes: YAML errors by line, and unmarshal errors listed under their heading
  assert.deepEqual(promtoolProblems('Checking r.yaml\n  FAILED:\nr.yaml: yaml: unmarshal errors:\n  line 7: field foo not found in type rulefmt.RuleNode\n', 'r.yaml'), [{ file: 'r.yaml', line: 7, message: 'YAML: field foo not found in type rulefmt.RuleNode' }]);
  assert.deepEqual(promtoolProblems("r.yaml: yaml: line 1: did not find expected '-' indicator\nr.yaml: yaml: line 1: did not find expected '-' indicator\n", 'r.yaml'), [{ file: 'r.yaml', line: 1, message: "YAML: did not find expected '-' indicator" }]);
  assert.equal(prometheusDurationMs('1h30m'), 5_400_000);
  assert.equal(prometheusDurationMs('soon'), undefined);
});

test("Prometheus' alert state machine: pending, firing after for:, kept for keep_firing_for:, resolved", () => {
  const at = (seconds: number[]): [number, string][] => seconds.map((s) => [s, '1']);
  // the expression holds at 10..19 s and again at 30 s; evaluations every second until 40 s
  const series = [{ metric: { job: 'etcd', instance: 'a' }, values: at([10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 30]) }];
  assert.deepEqual(episodesFromExpression('Down', series, { forMs: 5000, keepFiringForMs: 0 }, 1000, 40_000), [
    { alert: 'Down', labels: { alertname: 'Down', job: 'etcd', instance: 'a' }, pendingAt: 10_000, firingAt: 15_000, resolvedAt: 20_000 },
    { alert: 'Down', labels: { alertname: 'Down', job: 'etcd', instance: 'a' }, pendingAt: 30_000, firingAt: null, resolvedAt: 31_000 },
  ]);
  const kept = episodesFromExpression('Down', series, { forMs: 0, keepFiringForMs: 3000 }, 1000, 40_000);
  assert.deepEqual(kept.map((e) => [e.pendingAt, e.firingAt, e.resolvedAt]), [[10_000, 10_000, 22_000], [30_000, 30_000, 33_000]]);
  // the same episodes from Prometheus' own ALERTS series
  const alerts = [
    { metric: { __name__: 'ALERTS', alertname: 'Down', alertstate: 'pending', instance: 'a' }, values: at([10, 11, 12, 13, 14, 30]) },
    { metric: { __name__: 'ALERTS', alertname: 'Down', alertstate: 'firing', instance: 'a' }, values: at([15, 16, 17, 18, 19]) },
  ];
  assert.deepEqual(episodesFromAlerts(alerts, 1000).map((e) => [e.alert, e.pendingAt, e.firingAt, e.resolvedAt]), [['Down', 10_000, 15_000, 20_000], ['Down', 30_000, null, null]]);
});

test("moat's own series are exposed as Prometheus text; the config binds every job to moat's targets", () => {
  const text = exposition([
    { name: 'load_error_ratio', labels: { load: 'kv', op: 'all' }, value: 0.25 },
    { name: 'load_error_ratio', labels: { load: 'api', op: 'get "x"\n' }, value: 0 },
    { name: 'not a name', labels: {}, value: 1 },
    { name: 'otel_x', labels: {}, value: Number.NaN },
  ]);
  assert.equal(text, '# TYPE load_error_ratio gauge\nload_error_ratio{load="kv",op="all"} 0.25\nload_error_ratio{load="api",op="get \\"x\\"\\n"} 0\n');
  const config = JSON.parse(prometheusConfig({ scrapeIntervalMs: 1000, evaluationIntervalMs: 2000, ruleFiles: ['/r.yaml'], jobs: [{ name: 'etcd', metricsPath: '/metrics', targets: [{ address: '10.77.1.10:2379', labels: { member: 'etcd-1' } }] }], runLabel: 'abc123', alertmanager: '10.77.1.1:9093' })) as Record<string, unknown>;
  assert.deepEqual(config, {
    global: { scrape_interval: '1s', scrape_timeout: '1s', evaluation_interval: '2s', external_labels: { moat_run: 'abc123' } },
    rule_files: ['/r.yaml'],
    scrape_configs: [{ job_name: 'etcd', metrics_path: '/metrics', static_configs: [{ targets: ['10.77.1.10:2379'], labels: { member: 'etcd-1' } }] }],
    alerting: { alertmanagers: [{ static_configs: [{ targets: ['10.77.1.1:9093'] }] }] },
  });
});
