import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { tempDir } from '../core/testing.ts';
import { waitFor } from '../core/units.ts';
import { FakeTwin, loadScenarioFile, realClock, runScenario } from '../runner/index.ts';
import { writeReports } from '../reports/index.ts';
import { History, LiveFeed, Scheduler, startDashboard, type Executor } from './index.ts';

// a run of about 8 s on a fake twin and the real clock: no root, and long enough to watch live
const SCENARIO = `name: dash-fake
twin: { services: { db: { kind: etcd, replicas: 3 } } }
observe: { bpf: [], prometheus: [] }
baseline: { warmup: 3s }
faults: [{ id: cut, type: partition, mode: isolate, target: db.leader, at: 3s, duration: 3s }]
recovery: 2s
gates:
  leader_election_ms: ["max < 1500"]
`;

test('the dashboard in Chromium: a scheduled run followed live, then listed, its report opened, and its scenario\'s trend chart drawn', { timeout: 180_000 }, async (t) => {
  const dir = tempDir(t, 'dashboard');
  const scenarioFile = join(dir, 'dash.yaml');
  writeFileSync(scenarioFile, SCENARIO);
  const history = History.open(join(dir, 'history.db'));
  t.after(() => history.close());
  const live = new LiveFeed();
  const execute: Executor = async (item, signal, started) => {
    const journal = await runScenario(await loadScenarioFile(item.scenarioFile), {
      scenarioFile: item.scenarioFile, outDir: join(dir, 'runs'), stateDir: join(dir, 'state'), seed: item.seed, signal, clock: realClock(),
      twinUp: async (spec, options) => new FakeTwin(spec, options.runId, realClock()),
      observers: [{ phase: (name, detail) => live.publish({ type: 'phase', name, detail }), event: (event) => live.publish({ type: 'event', event }) }],
      onStart: (run) => {
        started(run);
        live.publish({ type: 'start', runId: run.runId, scenario: 'dash-fake', runDir: run.runDir });
      },
    });
    writeReports(journal.runDir);
    history.record(journal, 'schedule');
    live.publish({ type: 'end', status: journal.status, alarms: journal.alarms.map((a) => ({ t: a.t, detector: a.detector, series: a.series })) });
    return journal;
  };
  // every 2 s: the first slot comes at once, later ones queue behind the run in progress
  const scheduler = new Scheduler(history, { file: join(dir, 'schedule.yaml'), timezone: 'UTC', catchUp: 'none', runsPerDay: 100, entries: [{ name: 'dash', cron: '*/2 * * * * *', scenarios: [{ file: scenarioFile, name: 'dash-fake' }], seeds: 1 }] }, execute);
  const dashboard = await startDashboard({ history, live, scheduler, token: 'test-token' });
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu'] });
  t.after(async () => {
    await browser.close();
    await scheduler.stop();
    await dashboard.close();
  });
  const pageView = await browser.newPage();
  await pageView.goto(`${dashboard.url}/live`);
  scheduler.start(250);

  // live: the run's name, its phases and its fault events arrive over Server-Sent Events
  await pageView.locator('#live-run', { hasText: 'dash-fake' }).waitFor({ timeout: 60_000 });
  await pageView.locator('#live-events li.fault-applied').first().waitFor({ timeout: 60_000 });
  await pageView.locator('#live-events li.fault-healed').first().waitFor({ timeout: 60_000 });

  // two runs recorded, then the scheduler stops
  await waitFor('two completed runs', 120_000, async () => (history.runs().filter((r) => r.status === 'completed').length >= 2 ? true : undefined), 250);
  // stopping the scheduler stops the run in progress, if one started: it is recorded as interrupted
  await scheduler.stop();
  const runs = history.runs().filter((r) => r.status === 'completed');
  assert.ok(history.runs().every((r) => r.scenario === 'dash-fake' && (r.status === 'completed' || r.status === 'interrupted')), JSON.stringify(history.runs()));

  // the run list shows them, with verdicts and links to their reports
  await pageView.goto(`${dashboard.url}/`);
  assert.ok((await pageView.locator('table.runs tr.run').count()) >= 2);
  const first = runs[runs.length - 1]!;
  await pageView.locator(`a[href="/runs/${first.runId}"]`).first().click();
  await pageView.waitForURL(`${dashboard.url}/runs/${first.runId}`);
  assert.match(await pageView.content(), /dash-fake/);
  assert.match(await pageView.title(), /dash-fake/);

  // the scenario's trends: an SVG chart per metric over the recorded runs
  await pageView.goto(`${dashboard.url}/scenarios/dash-fake`);
  const chart = pageView.locator('svg.trend[data-metric="leader_election_ms"]');
  await chart.waitFor();
  // trends use completed runs
  assert.equal(Number(await chart.getAttribute('data-points')), runs.length);
  assert.equal(await chart.locator('circle').count(), runs.length);

  // starting a run needs the token
  const denied = await fetch(`${dashboard.url}/api/queue`, { method: 'POST', body: JSON.stringify({ scenario: 'dash-fake' }) });
  assert.equal(denied.status, 401);
  const queued = await fetch(`${dashboard.url}/api/queue`, { method: 'POST', headers: { authorization: 'Bearer test-token' }, body: JSON.stringify({ scenario: 'dash-fake' }) });
  assert.equal(queued.status, 202);
  const tooBig = await fetch(`${dashboard.url}/api/queue`, { method: 'POST', headers: { authorization: 'Bearer test-token' }, body: 'x'.repeat(20_000) });
  assert.equal(tooBig.status, 413);
});

test('the dashboard binds to loopback only', async () => {
  await assert.rejects(() => startDashboard({ history: History.open(':memory:'), live: new LiveFeed(), token: 't', host: '0.0.0.0' }), /loopback interface only/);
});
