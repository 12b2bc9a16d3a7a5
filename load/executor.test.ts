import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ArrivalSchedule, rateAt, rateProfile, uniformAt, type RateProfile } from './executor.ts';
import { LatencyHistogram, LoadStats } from './stats.ts';

function dueTimes(profile: RateProfile, n: number): number[] {
  const schedule = new ArrivalSchedule(profile);
  return Array.from({ length: n }, () => schedule.next());
}

/** Arrivals due in [from, to) ms. */
function countIn(times: readonly number[], from: number, to: number): number {
  return times.filter((t) => t >= from && t < to).length;
}

test('a constant rate gives request i at i / rate, exactly', () => {
  assert.deepEqual(dueTimes(rateProfile({ kind: 'constant-arrival-rate' }, 200), 5), [0, 5, 10, 15, 20]);
});

test('a ramp follows the integral of its rate: 0 -> 1000/s over 2 s sends 1000, then the last target is held', () => {
  const profile = rateProfile({ kind: 'ramping-arrival-rate', startRatePerSec: 0, stages: [{ durationMs: 2000, targetPerSec: 1000 }] }, 1000);
  const times = dueTimes(profile, 2001);
  // N(t) = 250 t² (t in s): 250 in the first second, 750 in the second
  assert.equal(countIn(times, 0, 1000), 250);
  assert.equal(countIn(times, 1000, 2000), 750);
  // then 1000/s held: request 1000 at the ramp's end, the next 1 ms later
  assert.ok(Math.abs(times[1000]! - 2000) < 1e-6, `${times[1000]}`);
  assert.ok(Math.abs(times[1001]! - 2001) < 1e-6, `${times[1001]}`);
  assert.ok(times.every((t, i) => i === 0 || t > times[i - 1]!), 'due times only grow');
});

test('stages chain, a ramp down to zero ends the arrivals, and the rate is read between points', () => {
  const profile = rateProfile({ kind: 'ramping-arrival-rate', startRatePerSec: 100, stages: [{ durationMs: 1000, targetPerSec: 100 }, { durationMs: 1000, targetPerSec: 0 }] }, 100);
  assert.equal(rateAt(profile, 1500), 50);
  const schedule = new ArrivalSchedule(profile);
  const times: number[] = [];
  for (let t = schedule.next(); Number.isFinite(t) && times.length < 1000; t = schedule.next()) times.push(t);
  // 100 in the flat second, 50 in the ramp down, none after
  assert.equal(countIn(times, 0, 1000), 100);
  assert.equal(countIn(times, 1000, 2001), 51);
  assert.equal(times.length, 151);
});

test('a looped profile repeats its arrivals each loop', () => {
  const profile: RateProfile = { points: [{ tMs: 0, perSec: 100 }, { tMs: 1000, perSec: 300 }], loopMs: 1000 };
  const times = dueTimes(profile, 1000);
  assert.equal(countIn(times, 0, 1000), 200);
  assert.equal(countIn(times, 1000, 2000), 200);
  assert.ok(Math.abs(times[200]! - 1000) < 1e-6);
});

test('the request mix per index is the same in any worker: a pure function of seed and index', () => {
  const a = Array.from({ length: 1000 }, (_, i) => uniformAt(42, i));
  const b = Array.from({ length: 1000 }, (_, i) => uniformAt(42, i));
  assert.deepEqual(a, b);
  assert.notDeepEqual(a.slice(0, 10), Array.from({ length: 10 }, (_, i) => uniformAt(43, i)));
  const mean = a.reduce((x, y) => x + y, 0) / a.length;
  assert.ok(mean > 0.45 && mean < 0.55 && a.every((x) => x >= 0 && x < 1), `mean ${mean}`);
});

test('per-second stats merged from two workers equal one generator\'s, and saturation is marked', () => {
  const one = new LoadStats();
  const left = new LoadStats();
  const right = new LoadStats();
  for (let i = 0; i < 2000; i++) {
    const dueMs = i;
    const lag = i >= 1000 && i < 1100 ? 30 : 1;
    const latency = 2 + (i % 50);
    one.record('get', dueMs, lag, latency, i % 100 !== 0);
    (i % 2 === 0 ? left : right).record('get', dueMs, lag, latency, i % 100 !== 0);
  }
  const merged = new LoadStats();
  merged.merge(left.drain());
  merged.merge(right.drain());
  assert.deepEqual(merged.series('api'), one.series('api'));
  assert.equal(merged.totals().byOp.get!.latency.percentile(99), one.totals().byOp.get!.latency.percentile(99));
  const generator = merged.generator(2);
  // 100 of 1000 requests late in the second second: 10% > 1%, so that second was not kept
  assert.equal(generator.saturatedSeconds, 1);
  assert.equal(generator.saturatedFromMs, 1000);
  assert.equal(generator.lateShare, 100 / 2000);
});

test('an HDR histogram reads percentiles to 0.1%', () => {
  const values = Array.from({ length: 10_000 }, (_, i) => (i + 1) / 10);
  const h = LatencyHistogram.of(values);
  assert.equal(h.count, 10_000);
  for (const p of [50, 90, 99, 99.9]) {
    const exact = values[Math.ceil((p / 100) * values.length) - 1]!;
    assert.ok(Math.abs(h.percentile(p) - exact) <= exact * 0.001 + 0.001, `p${p}: ${h.percentile(p)} vs ${exact}`);
  }
  assert.equal(LatencyHistogram.decode(h.encode()).percentile(99), h.percentile(99));
});

test('a ramp\'s breakpoint is the first of three seconds over the limit that the generator cannot explain', () => {
  // a service whose p99 passes 500 ms from second 10 on, with the generator on time
  const build = (lagFrom10: number) => {
    const stats = new LoadStats();
    for (let s = 0; s < 15; s++) {
      for (let k = 0; k < 100; k++) stats.record('get', s * 1000 + k * 10, s >= 10 ? lagFrom10 : 1, s >= 10 && k >= 95 ? 800 : 20, true);
    }
    return stats;
  };
  const askedAt = (tMs: number) => 100 + tMs / 10;
  assert.deepEqual(build(2).breakpoint(500, askedAt), { tMs: 10_000, ratePerSec: 1150, goodPerSec: 100, reason: 'latency p99 800 ms > 500 ms', generatorLagP99Ms: 2 });
  // the same latencies with the generator's own lag p99 at 120 ms (> a tenth of the limit): not the service's break
  assert.equal(build(120).breakpoint(500, askedAt), null);
  // a service that held: no breakpoint
  const held = new LoadStats();
  for (let k = 0; k < 1000; k++) held.record('get', k * 10, 1, 20, true);
  assert.equal(held.breakpoint(500, askedAt), null);
});
