import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tempDir } from '../core/testing.ts';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

const cli = new URL('./main.ts', import.meta.url).pathname;
const moat = (args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 120_000 });

/** 10 minutes at 1 s: a daily-free noisy level, with a +8 shift from 00:08:20 for 30 s. */
function csv(): string {
  const rows = ['timestamp,value'];
  for (let i = 0; i < 600; i++) {
    const noise = (((i * 7919) % 17) - 8) / 8;
    rows.push(`${new Date(Date.UTC(2026, 0, 5) + i * 1000).toISOString()},${(10 + noise + (i >= 500 && i < 530 ? 8 : 0)).toFixed(3)}`);
  }
  return rows.join('\n') + '\n';
}

test('moat detect --json reports alarms and scores with timestamps as written in the input', (t) => {
  const file = join(tempDir(t, 'detect'), 'series.csv');
  writeFileSync(file, csv());
  const result = moat(['detect', file, '--detector', 'robust-z', '--train-until', '2026-01-05T00:05:00Z', '--windows', '2026-01-05T00:08:20Z..2026-01-05T00:08:50Z', '--json']);
  assert.equal(result.status, 0, result.stderr);
  const out = JSON.parse(result.stdout) as { alarms: { t: string; score: number }[]; detections: { window: string; ttdMs: number | null; alarm?: string }[]; falseAlarms: string[]; scores: { detected: number; faults: number } };
  assert.deepEqual(out.alarms.map((a) => a.t), ['2026-01-05T00:08:22.000Z']);
  assert.ok(out.alarms[0]!.score > 4);
  assert.deepEqual(out.detections, [{ window: 'window-1', ttdMs: 2000, alarm: '2026-01-05T00:08:22.000Z' }]);
  assert.deepEqual(out.falseAlarms, []);
  assert.equal(out.scores.detected, 1);
});

test('moat detect rejects a window inside the training data and bad flags (exit 2)', (t) => {
  const file = join(tempDir(t, 'detect'), 'series.csv');
  writeFileSync(file, csv());
  const inside = moat(['detect', file, '--train-until', '2026-01-05T00:09:00Z', '--windows', '2026-01-05T00:08:20Z..2026-01-05T00:08:50Z']);
  assert.equal(inside.status, 2);
  assert.match(inside.stderr, /a window starts before --train-until; a model never judges the points it was fitted on/);
  const rule = moat(['detect', file, '--rule', '5/3']);
  assert.equal(rule.status, 2);
  // the same check, and the same words, as for a rule in a scenario
  assert.match(rule.stderr, /--rule: k must not exceed m, saw k 5 of m 3/);
  const garbage = moat(['detect', file, '--rule', 'often']);
  assert.equal(garbage.status, 2);
  assert.match(garbage.stderr, /--rule expects k\/m \(e\.g\. 3\/5\), consecutive:N or breach, saw "often"/);
});
