import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { writeReports } from './index.ts';
import { fixtureRun } from './testing.ts';
import { flameGraphSvg, heatmapSvg } from './diagnosis.ts';
import { readSeriesFile } from '../core/series-file.ts';
import { readJournal } from '../core/journal-file.ts';
import { diagnoseRun } from '../diagnose/index.ts';

const artifacts = new URL('../test-artifacts/', import.meta.url).pathname;

test('the HTML report renders in headless Chromium from disk, with charts and no console errors', { timeout: 90_000 }, async (t) => {
  const hostile = '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned=2">';
  const { dir } = fixtureRun(t, (journal) => {
    journal.activities.push({ name: 'probe', start: journal.startedAt, end: journal.startedAt, durationMs: 0, status: 'failed', error: hostile });
    journal.timeline.push({ t: 1, kind: 'process-exit', detail: hostile });
  });
  const html = writeReports(dir)['report.html']!;
  const text = readFileSync(html, 'utf8');
  assert.doesNotMatch(text, /<script|<link|@import|url\(|https?:\/\//i, 'self-contained: no scripts, stylesheets, fonts or network');

  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    const problems: string[] = [];
    const requests: string[] = [];
    page.on('console', (message) => { if (message.type() === 'error' || message.type() === 'warning') problems.push(`${message.type()}: ${message.text()}`); });
    page.on('pageerror', (error) => problems.push(`pageerror: ${error.message}`));
    page.on('request', (request) => requests.push(request.url()));
    await page.goto(`file://${html}`);
    assert.deepEqual(problems, []);
    assert.deepEqual(requests.filter((u) => !u.startsWith('file://')), [], 'no request leaves the file');
    assert.equal(await page.textContent('#verdict'), 'PASSED');
    assert.ok(await page.locator('section').first().isVisible());
    const charts = await page.locator('.chart svg').count();
    assert.ok(charts >= 5, `charts: ${charts}`);
    assert.ok(await page.locator('.chart svg path.series').count() >= charts);
    assert.ok(await page.locator('rect.fault-window').count() >= charts, 'every chart shades the fault window');
    assert.ok(await page.locator('line.first-alarm').count() >= 1, "detectors' first alarms are marked");
    assert.equal(await page.evaluate(() => (globalThis as unknown as { __pwned?: number }).__pwned), undefined, 'hostile text stayed text');
    assert.ok((await page.textContent('body'))!.includes('<script>window.__pwned = 1</script>'));
    const screenshot = await page.screenshot({ fullPage: true });
    assert.ok(screenshot.length > 10_000);
    // MOAT_TEST_ARTIFACTS=1 keeps the picture in test-artifacts/ for a person to look at
    if (process.env.MOAT_TEST_ARTIFACTS) {
      mkdirSync(artifacts, { recursive: true });
      writeFileSync(join(artifacts, 'report.png'), screenshot);
    }
  } finally {
    await browser.close();
  }
});

test('the diagnosis card renders in Chromium from disk: each fault\'s hypotheses with evidence against the truth, and nothing external', { timeout: 90_000 }, async (t) => {
  const fixture = new URL('./fixtures/etcd-split-brain', import.meta.url).pathname;
  // the fixture's journal is read the way moat reads it (older journals get their typed leader changes there)
  const diagnosis = diagnoseRun(readJournal(fixture), readSeriesFile(join(fixture, 'series.jsonl')));
  const { dir } = fixtureRun(t, (journal) => {
    journal.diagnosis = diagnosis;
  });
  const html = writeReports(dir)['diagnosis.html']!;
  const text = readFileSync(html, 'utf8');
  assert.doesNotMatch(text, /<script|<link|@import|url\(|https?:\/\//i, 'self-contained');
  assert.match(readFileSync(join(dir, 'report.html'), 'utf8'), /<a href="diagnosis.html">/);
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'] });
  try {
    const page = await browser.newPage();
    const problems: string[] = [];
    const requests: string[] = [];
    page.on('console', (message) => { if (message.type() === 'error') problems.push(message.text()); });
    page.on('pageerror', (error) => problems.push(error.message));
    page.on('request', (request) => requests.push(request.url()));
    await page.goto(`file://${html}`);
    assert.deepEqual(problems, []);
    assert.deepEqual(requests.filter((u) => !u.startsWith('file://')), []);
    const card = page.locator('section.card#fault-isolate-leader');
    assert.match((await card.locator('h2').textContent())!, /isolate-leader/);
    assert.equal(await card.locator('ol.hypotheses > li').count(), 3);
    // the isolated leader is the first hypothesis, marked as the faulted component, with its evidence
    const first = card.locator('ol.hypotheses > li').first();
    assert.match((await first.getAttribute('class'))!, /true/);
    assert.match((await first.textContent())!, /etcd_server_has_leader\{member=etcd-1/);
  } finally {
    await browser.close();
  }
});

test('the dependency-health heatmap colours a link by how far each bucket is above its level before the fault', () => {
  const t = Float64Array.from({ length: 120 }, (_, i) => i * 1000);
  const errors = { name: 'ledger_dependency_errors_total:rate', labels: { service: 'ledger', member: 'ledger-1', dependency: 'redis' }, t, v: Float64Array.from(t, (x) => (x >= 60_000 && x < 90_000 ? 40 : 0.5)) };
  const svg = heatmapSvg([errors], 30_000, 110_000, { appliedAt: 60_000, healedAt: 90_000 });
  const fills = [...svg.matchAll(/<rect class="heat"[^>]*fill="rgb\(255,(\d+),(\d+)\)"/g)].map((m) => Number(m[1]));
  assert.equal(fills.length, 16, 'one cell per 5 s from 60 s before to 30 s after');
  assert.ok(fills.slice(0, 6).every((g) => g === 245), 'before the fault: the level itself');
  assert.ok(fills.slice(6, 12).every((g) => g === 45), 'during the fault: the darkest');
  assert.match(svg, /ledger-&gt;redis errors\/s/);
});

test('a flame graph: each frame as wide as its share of the host\'s samples in the window, root at the bottom', () => {
  const samples = [
    { host: 'etcd-1', t: 10_000, frames: ['runtime.goexit', 'main.serve', 'main.put'], count: 30 },
    { host: 'etcd-1', t: 10_000, frames: ['runtime.goexit', 'main.serve', 'main.get'], count: 10 },
    { host: 'etcd-1', t: 50_000, frames: ['runtime.goexit', 'main.compact'], count: 99 },
    { host: 'etcd-2', t: 10_000, frames: ['runtime.goexit', 'main.other'], count: 99 },
  ];
  const svg = flameGraphSvg(samples, 'etcd-1', 0, 20_000, 1000);
  assert.match(svg, /data-samples="40"/);
  const width = (name: string) => Number(new RegExp(`<rect [^>]*width="([\\d.]+)"[^>]*><title>${name.replace(/[.]/g, '\\.')}:`).exec(svg)?.[1]);
  assert.equal(width('runtime.goexit'), 999.5);
  assert.equal(width('main.put'), 749.5);
  assert.equal(width('main.get'), 249.5);
  assert.doesNotMatch(svg, /main\.compact|main\.other/, 'other windows and hosts stay out');
  assert.match(flameGraphSvg(samples, 'etcd-3', 0, 20_000), /No on-CPU samples of etcd-3/);
});
