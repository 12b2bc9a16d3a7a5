import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { tempDir } from '../core/testing.ts';
import { waitFor } from '../core/units.ts';
import { chromium } from 'playwright-core';
import { History, Scheduler, type Executor } from '../history/index.ts';
import type { Journal } from '../core/journal.ts';
import { loadScheduleFile } from './schedule-file.ts';

const cli = new URL('./main.ts', import.meta.url).pathname;

const scenario = (name: string, seed: number) => `name: ${name}
seed: ${seed}
twin: { services: { etcd: { kind: etcd, replicas: 3, preVote: true } } }
load: [{ name: kv, kind: etcd-kv, target: etcd, rate: 40/s, client: { requireLeader: true } }]
observe: { bpf: [] }
baseline: { warmup: 5s }
faults: [{ id: cut, type: partition, mode: isolate, target: etcd.leader, at: 5s, duration: 4s }]
recovery: 3s
gates:
  lost_writes: ["== 0"]
`;

const SCHEDULE = `timezone: UTC
catchUp: latest
budget: { runsPerDay: 200 }
schedules:
  - name: drills
    cron: "*/15 * * * * *"
    scenarios: [first.yaml, second.yaml]
`;

interface Serve {
  child: ChildProcess;
  url: Promise<string>;
  exited: Promise<number | null>;
  output: () => string;
}

function startServe(dir: string, env: NodeJS.ProcessEnv): Serve {
  const child = spawn(process.execPath, [cli, 'serve', '--schedule', join(dir, 'schedule.yaml'), '--port', '0', '--out', join(dir, 'runs'), '--history', join(dir, 'history.db')], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const url = waitFor('the dashboard address', 60_000, async () => /dashboard on (http:\/\/\S+)\//.exec(out)?.[1], 100);
  return { child, url, exited, output: () => out };
}

/** Reads the history the server writes (SQLite lets a reader in beside the writer). */
function withHistory<T>(dir: string, read: (history: History) => T): T {
  const history = History.open(join(dir, 'history.db'));
  try {
    return read(history);
  } finally {
    history.close();
  }
}

test('moat serve runs a schedule of two scenarios on time, survives kill -9 mid-run (recorded as interrupted, queue resumed, leftovers cleaned), and shows both runs', { timeout: 600_000 }, async (t) => {
  const dir = tempDir(t, 'serve');
  writeFileSync(join(dir, 'first.yaml'), scenario('serve-first', 1));
  writeFileSync(join(dir, 'second.yaml'), scenario('serve-second', 2));
  writeFileSync(join(dir, 'schedule.yaml'), SCHEDULE);
  const env = { MOAT_STATE_DIR: tempDir(t, 'state'), MOAT_TOKEN: 'serve-test-token' };

  const first = startServe(dir, env);
  t.after(() => first.child.kill('SIGKILL'));
  await first.url;
  // the first slot runs: wait until its run is past the warm-up, then kill moat serve outright
  const running = await waitFor('a scheduled run in its fault window', 180_000, async () => withHistory(dir, (h) => {
    const row = h.db.prepare("SELECT run_id, run_dir FROM queue WHERE state = 'running' AND run_dir IS NOT NULL").get() as { run_id: string; run_dir: string } | undefined;
    return row && /fault-applied/.test(first.output()) ? row : undefined;
  }), 250);
  first.child.kill('SIGKILL');
  await first.exited;
  assert.ok(existsSync(`/run/netns/moat-${running.run_id}-etcd-1`), 'the killed run left its twin behind');

  // restarted: the interrupted run is recorded as such, its leftovers are cleaned before the next run, the queue resumes
  const second = startServe(dir, env);
  t.after(async () => {
    if (second.child.exitCode === null) {
      second.child.kill('SIGTERM');
      await second.exited;
    }
  });
  const url = await second.url;
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu'] });
  t.after(() => browser.close());
  const view = await browser.newPage();
  // the live view follows the next run over Server-Sent Events: its name, then its fault applied
  await view.goto(`${url}/live`);
  await waitFor('the interrupted run in history', 60_000, async () => withHistory(dir, (h) => h.run(running.run_id)?.status === 'interrupted' || undefined), 250);
  assert.match(second.output(), new RegExp(`run ${running.run_id} was in progress when moat stopped: recorded as interrupted`));
  await view.locator('#live-run', { hasText: /serve-(first|second)/ }).waitFor({ timeout: 300_000 });
  await view.locator('#live-events li.fault-applied').first().waitFor({ timeout: 300_000 });
  await waitFor('both scenarios completed', 400_000, async () => withHistory(dir, (h) => {
    const done = new Set(h.runs().filter((r) => r.status === 'completed').map((r) => r.scenario));
    return done.has('serve-first') && done.has('serve-second') ? true : undefined;
  }), 500);
  assert.ok(!existsSync(`/run/netns/moat-${running.run_id}-etcd-1`), 'the next run cleaned up what the killed one left');

  // the dashboard in Chromium lists both runs, each scenario's trends are drawn, and the schedule's next slots are there
  await view.goto(`${url}/`);
  for (const name of ['serve-first', 'serve-second']) {
    assert.ok(await view.locator('table.runs tr.run', { hasText: name }).count() >= 1, `${name} in the run list`);
    await view.goto(`${url}/scenarios/${name}`);
    const chart = view.locator('svg.trend[data-metric="availability"]').first();
    await chart.waitFor();
    assert.ok(Number(await chart.getAttribute('data-points')) >= 1);
    await view.goto(`${url}/`);
  }
  assert.ok(await view.locator('table.next tr').count() >= 2, 'the next scheduled runs');

  // SIGTERM: the run in progress (if any) heals and tears down, then moat serve exits 0
  second.child.kill('SIGTERM');
  assert.equal(await second.exited, 0, second.output().slice(-2000));
  withHistory(dir, (h) => assert.equal(h.db.prepare("SELECT COUNT(*) AS n FROM queue WHERE state = 'running'").get()!.n, 0));
  const cleanup = spawnSync(process.execPath, [cli, 'cleanup'], { encoding: 'utf8', env: { ...process.env, ...env } });
  assert.equal(cleanup.status, 0, cleanup.stdout + cleanup.stderr);
  assert.doesNotMatch(execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' }), new RegExp(`moat-${running.run_id}`));
});

test('a bad schedule file is rejected before anything starts, with file, line and path', (t) => {
  const dir = tempDir(t, 'serve-bad');
  writeFileSync(join(dir, 'schedule.yaml'), `timezone: Mars/Olympus
schedules:
  - name: drills
    cron: "every day at noon"
    scenarios: [missing.yaml, ../outside.yaml]
`);
  const result = spawnSync(process.execPath, [cli, 'serve', '--schedule', join(dir, 'schedule.yaml'), '--port', '0'], { encoding: 'utf8', env: { ...process.env, MOAT_STATE_DIR: tempDir(t, 'state') }, timeout: 60_000 });
  assert.equal(result.status, 2, result.stdout + result.stderr);
  assert.match(result.stderr, /schedule\.yaml:1 timezone: unknown time zone "Mars\/Olympus"/);
  assert.match(result.stderr, /schedule\.yaml:4 schedules\[0\]\.cron: not a cron expression croner accepts/);
  assert.match(result.stderr, /schedule\.yaml:5 schedules\[0\]\.scenarios\[0\]: missing\.yaml does not validate/);
  assert.match(result.stderr, /schedule\.yaml:5 schedules\[0\]\.scenarios\[1\]: \.\.\/outside\.yaml is outside the schedule's folder/);
  // moat validate knows a schedule file by its name and says the same
  const named = join(dir, 'drills.schedule.yaml');
  writeFileSync(named, readFileSync(join(dir, 'schedule.yaml'), 'utf8'));
  const validated = spawnSync(process.execPath, [cli, 'validate', named], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(validated.status, 2, validated.stdout + validated.stderr);
  assert.match(validated.stderr, /drills\.schedule\.yaml:4 schedules\[0\]\.cron: not a cron expression croner accepts/);
});

test('the library schedule validates and runs 29 drills in a day, one at a time, with nothing skipped', async (t) => {
  const schedule = await loadScheduleFile(new URL('../scenarios/library.schedule.yaml', import.meta.url).pathname);
  const dir = tempDir(t, 'library-schedule');
  const history = History.open(join(dir, 'history.db'));
  t.after(() => history.close());
  let now = new Date('2026-12-06T23:59:00Z');
  let active = 0;
  let overlapped = false;
  const execute: Executor = async () => {
    overlapped ||= active > 0;
    active++;
    await new Promise((resolve) => setImmediate(resolve));
    active--;
    return { status: 'completed', verdict: { passed: true, reasons: [] } } as unknown as Journal;
  };
  const scheduler = new Scheduler(history, schedule, execute, { now: () => now });
  t.after(() => scheduler.stop());
  const pending = () => Number((history.db.prepare("SELECT COUNT(*) AS n FROM queue WHERE state IN ('queued', 'running')").get() as { n: number }).n);
  // one simulated day, minute by minute; each minute's runs finish before the clock moves on
  for (let minute = 0; minute <= 24 * 60; minute++) {
    now = new Date(Date.UTC(2026, 11, 7) + minute * 60_000 - 60_000);
    scheduler.tick();
    for (let i = 0; i < 1000 && pending() > 0; i++) await new Promise((resolve) => setImmediate(resolve));
  }
  const rows = history.db.prepare("SELECT schedule, state, COUNT(*) AS n FROM queue WHERE due_at >= '2026-12-07' AND due_at < '2026-12-08' GROUP BY schedule, state ORDER BY schedule").all() as { schedule: string; state: string; n: number }[];
  assert.deepEqual(rows.map((r) => ({ ...r })), [
    { schedule: 'hourly-leader-isolation', state: 'done', n: 7 },
    { schedule: 'nightly-library', state: 'done', n: 22 },
  ]);
  assert.equal(overlapped, false, 'two runs overlapped');
  // every scenario of the library is drilled once a night
  const library = readdirSync(new URL('../scenarios', import.meta.url).pathname).filter((f) => f.endsWith('.yaml') && !f.endsWith('.schedule.yaml')).sort();
  const nightly = schedule.entries.find((e) => e.name === 'nightly-library')!;
  assert.deepEqual(nightly.scenarios.map((s) => basename(s.file)).sort(), library);
});
