import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../core/testing.ts';
import { parseScenario } from './scenario/index.ts';
import { runScenario } from './run.ts';
import { execFileSync } from 'node:child_process';
import { chromium } from 'playwright-core';
import { ledgerBinary } from '../twin/index.ts';
import { PROFILE_FILE, readProfileFile } from '../core/profile.ts';
import { writeReports } from '../reports/index.ts';

test('a whole run on the ledger twin: http load, a toxic, the breaker seen by a detector, Go OTLP, an on-CPU profile named from the Go binary, clean teardown', { timeout: 240_000 }, async (t) => {
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
observe: { bpf: [profile] }
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

  // the profile: the ledger's on-CPU stacks, named from its .gopclntab, are functions `go tool nm` knows
  const binary = await ledgerBinary();
  // (assembly functions are `name.abi0` in the symbol table, `name` in the runtime's own table)
  const nm = new Set(execFileSync('go', ['tool', 'nm', binary], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 }).split('\n').map((l) => /^\s*[0-9a-f]+ [Tt] (.+)$/.exec(l)?.[1]?.replace(/\.abi0$/, '')).filter((n): n is string => n !== undefined));
  const profile = readProfileFile(join(journal.runDir, PROFILE_FILE));
  const ledgerFrames = new Set(profile.filter((p) => p.host === 'ledger-1').flatMap((p) => p.frames));
  const named = [...ledgerFrames].filter((f) => !f.startsWith('0x'));
  assert.ok(named.length > 20, `named frames of ledger-1: ${named.length}`);
  const unknown = named.filter((f) => !nm.has(f));
  assert.ok(unknown.length <= named.length * 0.01, `frames go tool nm does not know: ${unknown.slice(0, 10).join(', ')}`);
  assert.ok(named.some((f) => f.startsWith('net/http.')) && named.some((f) => f.startsWith('runtime.')), named.slice(0, 20).join(', '));
  assert.equal(journal.bpf.profile!.samples, profile.reduce((n, p) => n + p.count, 0));

  // the diagnosis card shows where the suspected process spent its CPU, in Chromium
  const html = writeReports(journal.runDir)['diagnosis.html']!;
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu'] });
  try {
    const page = await browser.newPage();
    await page.goto(`file://${html}`);
    const flame = page.locator('section.card svg.flame').first();
    await flame.waitFor();
    const host = (await flame.getAttribute('data-host'))!;
    const titles = await flame.locator('title').allTextContents();
    assert.ok(titles.length > 5, `flame graph frames: ${titles.length}`);
    // the suspect of a slow Redis link is its caller, the ledger: its frames are real Go functions
    if (host === 'ledger-1') {
      const shown = titles.map((x) => x.replace(/: \d+ samples.*$/, '')).filter((f) => !f.startsWith('0x'));
      assert.ok(shown.length > 5 && shown.every((f) => nm.has(f)), shown.filter((f) => !nm.has(f)).join(', '));
    }
  } finally {
    await browser.close();
  }
});
