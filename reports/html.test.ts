import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { writeReports } from './index.ts';
import { fixtureRun } from './testing.ts';

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
