import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Series } from '../core/series.ts';
import { runDetectors, leastSquaresSlope, type DetectorSpec } from './index.ts';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const monday = Date.UTC(2026, 0, 5);

function spec(preset: 'qps' | 'error-rate' | 'latency', extra: Partial<Extract<DetectorSpec, { kind: 'adaptive' }>> = {}): DetectorSpec {
  return { name: preset, kind: 'adaptive', preset, direction: 'both', ...extra };
}

test('least-squares slope', () => {
  assert.equal(leastSquaresSlope([0, 1, 2, 3]), 1);
  assert.equal(leastSquaresSlope([5, 5, 5]), 0);
  assert.equal(leastSquaresSlope([0, 0, 5, 5, 5]), 1.5);
});

/** Eight days of per-minute QPS: busy weekday hours, quiet weekends; from `at` a step of `step`. */
function qps(at: number, step: number): Series {
  const t: number[] = [];
  const v: number[] = [];
  for (let m = 0; m < 8 * 24 * 60; m++) {
    const date = new Date(monday + m * MINUTE);
    const weekend = date.getUTCDay() === 0 || date.getUTCDay() === 6;
    const hour = date.getUTCHours();
    const base = (weekend ? 200 : 1000) + (hour >= 9 && hour < 18 ? 500 : 0);
    t.push(m * MINUTE);
    v.push(base + ((m * 7919) % 41) - 20 + (m * MINUTE >= at && m * MINUTE < at + 20 * MINUTE ? step : 0));
  }
  return { name: 'load_requests_per_sec', labels: { op: 'all' }, t: Float64Array.from(t), v: Float64Array.from(v) };
}

test('qps preset: hour-of-day weekday/weekend profiles catch a drop that a flat baseline would call normal', async () => {
  const trainUntil = 7 * 24 * HOUR;
  // Monday 10:00 of week two: -400 is still above the weekend level, far below a weekday morning
  const at = trainUntil + 10 * HOUR;
  const { alarms, errors } = await runDetectors([qps(at, -400)], [spec('qps')], { trainUntil, epochMs: monday });
  assert.deepEqual(errors, []);
  assert.equal(alarms.length, 1, JSON.stringify(alarms));
  assert.ok(alarms[0]!.t >= at && alarms[0]!.t <= at + 3 * MINUTE, `alarm ${(alarms[0]!.t - at) / MINUTE} min after the drop`);
  const quiet = await runDetectors([qps(at, 0)], [spec('qps')], { trainUntil, epochMs: monday });
  assert.deepEqual(quiet.alarms, [], 'the weekend and office-hour swings are normal');
});

test('error-rate preset: alarms only after the breach has lasted more than 90 s', async () => {
  const t = Float64Array.from({ length: 600 }, (_, i) => i * 1000);
  const v = Float64Array.from(t, (ti) => (ti >= 400_000 && ti < 530_000 ? 0.2 : ((ti / 1000) % 7 === 0 ? 0.002 : 0)));
  const series: Series = { name: 'load_error_ratio', labels: { op: 'all' }, t, v };
  const { alarms } = await runDetectors([series], [spec('error-rate')], { trainUntil: 300_000, epochMs: monday });
  assert.equal(alarms.length, 1);
  // the minute mean crosses p95 + 0.005 within a few seconds of 400 s; the alarm waits 90 s more
  assert.ok(alarms[0]!.t > 490_000 && alarms[0]!.t < 500_000, `alarm at ${alarms[0]!.t} ms`);
  // a 20 s burst keeps the minute mean above the threshold for 20 + 60 s: under 90 s, no alarm
  const short = Float64Array.from(t, (ti) => (ti >= 400_000 && ti < 420_000 ? 0.2 : 0));
  const brief = await runDetectors([{ ...series, v: short }], [spec('error-rate')], { trainUntil: 300_000, epochMs: monday });
  assert.deepEqual(brief.alarms, [], 'a 20 s burst stays under 90 s, even through the minute mean');
});

test('latency preset: needs p99 above its bound and p50 up more than 15% at the same time', async () => {
  const t = Float64Array.from({ length: 300 }, (_, i) => (i + 1) * 1000);
  const p99 = Float64Array.from(t, (ti, i) => 20 + (i % 5) + (ti > 200_000 ? 200 : 0));
  const p50Flat = Float64Array.from(t, (_, i) => 5 + (i % 3) * 0.1);
  const p50Up = Float64Array.from(t, (ti, i) => 5 + (i % 3) * 0.1 + (ti > 220_000 ? 2 : 0));
  const make = (name: string, v: Float64Array): Series => ({ name, labels: { op: 'all' }, t, v });
  const tail = await runDetectors([make('load_latency_p99_ms', p99)], [spec('latency')], { trainUntil: 150_000, companions: [make('load_latency_p99_ms', p99), make('load_latency_p50_ms', p50Flat)] });
  assert.deepEqual(tail.alarms, [], 'a p99 spike alone (a slow tail) is not enough');
  const both = await runDetectors([make('load_latency_p99_ms', p99)], [spec('latency')], { trainUntil: 150_000, companions: [make('load_latency_p99_ms', p99), make('load_latency_p50_ms', p50Up)] });
  assert.equal(both.alarms.length, 1);
  assert.ok(both.alarms[0]!.t > 220_000 && both.alarms[0]!.t < 235_000, `alarm at ${both.alarms[0]!.t}`);
  const lonely = await runDetectors([make('load_latency_p99_ms', p99)], [spec('latency')], { trainUntil: 150_000 });
  assert.match(lonely.errors[0]!.error, /the latency preset needs the p50 series beside load_latency_p99_ms\{op=all\}/);
});

test('presets skip series outside their patterns without errors', async () => {
  const other: Series = { name: 'etcd_server_has_leader', labels: {}, t: Float64Array.from([0, 1, 2, 3, 4, 5, 6], (i) => i * 1000), v: new Float64Array(7).fill(1) };
  const run = await runDetectors([other], [spec('latency'), spec('error-rate'), spec('qps')], { trainUntil: 5000 });
  assert.deepEqual(run, { alarms: [], errors: [], adaptations: [] });
});
