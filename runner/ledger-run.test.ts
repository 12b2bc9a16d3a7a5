import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../core/testing.ts';
import { parseScenario } from './scenario/index.ts';
import { runScenario } from './run.ts';

test('a whole run on the ledger twin: http load, a toxic, the breaker seen by a detector, Go OTLP, clean teardown', { timeout: 180_000 }, async (t) => {
  const outDir = tempDir(t, 'runs');
  const stateDir = tempDir(t, 'state');
  const scenario = parseScenario(`name: ledger-short
seed: 4
twin:
  services:
    etcd: { kind: etcd, replicas: 3 }
    redis: { kind: redis }
    ledger: { kind: app, app: ledger, links: [redis, etcd] }
load:
  - { name: api, kind: http, target: ledger, rate: 60/s, requests: [{ name: balance, method: GET, path: "/balance?account=a1" }] }
observe: { bpf: [] }
baseline:
  warmup: 12s
  series: [load_error_ratio, ledger_breaker_state]
  detectors: [{ kind: static, thresholds: { ledger_breaker_state: ">= 2" }, rule: breach }]
faults:
  - { id: slow, type: toxic, link: ledger->redis, toxic: latency, attributes: { latency: 400 }, at: 12s, duration: 10s }
recovery: 5s
`, 'ledger-short.yaml');
  const journal = await runScenario(scenario, { scenarioFile: 'ledger-short.yaml', outDir, stateDir });
  assert.equal(journal.status, 'completed', journal.error);
  const fault = journal.faults[0]!;
  assert.ok(fault.verified.ok, JSON.stringify(fault.verified.evidence));
  assert.ok(fault.verified.evidence.some((e) => /round trip through ledger-redis-1: \d+ ms/.test(e.detail)));
  const detection = journal.detections.find((d) => d.faultId === 'slow')!;
  assert.ok(detection.ttdMs !== null, 'the open breaker was detected within the fault window and its grace');
  assert.ok(journal.otlp.spans > 100, `spans from the Go SDK: ${journal.otlp.spans}`);
  assert.ok(journal.series.count > 0);
  const series = readFileSync(join(journal.runDir, 'series.jsonl'), 'utf8');
  for (const name of ['http_req_failed', 'ledger_breaker_state', 'otel_ledger_requests', 'otel_ledger_breaker_state']) assert.ok(series.includes(`"name":"${name}`), name);
  assert.ok(journal.cleanup.ok, journal.cleanup.leftovers.join('; '));
  assert.equal(readdirSync(join(stateDir, 'ledger')).length, 0, 'the ledger of a clean run is removed');
});
