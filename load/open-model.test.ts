import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { OpenModelGenerator } from './open-model.ts';
import { loadSeries } from './summarize.ts';

/**
 * A fake clock for the generator: Date, setTimeout and setInterval are node:test's mock timers,
 * and the run clock reads Date. Time moves only when the test says so, 1 ms at a time with the
 * promises of each step settled, so every send, timeout and latency is exact.
 */
function fakeClock(t: TestContext): { now: () => number; advance: (ms: number) => Promise<void> } {
  t.mock.timers.enable({ apis: ['Date', 'setTimeout', 'setInterval'], now: 1_000_000 });
  const zero = Date.now();
  return {
    now: () => Date.now() - zero,
    async advance(ms) {
      for (let i = 0; i < ms; i++) {
        t.mock.timers.tick(1);
        await new Promise((resolve) => setImmediate(resolve));
      }
    },
  };
}

test('keeps the arrival rate when the target stops answering (no coordinated omission)', async (t) => {
  const clock = fakeClock(t);
  const generator = new OpenModelGenerator({
    ratePerSec: 100, now: clock.now, timeoutMs: 300, chooseOp: () => 0,
    execute: () => new Promise<boolean>(() => { /* a target that never answers */ }),
  });
  generator.start();
  await clock.advance(999);
  const stopped = generator.stop();
  await clock.advance(400);
  await stopped;
  // 100/s for 1 s: request i due at 10 i ms, i = 0..99, none held back by the ones still pending
  assert.equal(generator.records.length, 100);
  assert.ok(generator.records.every((r) => !r.ok));
  // latency runs from the due time to the give-up: exactly the timeout
  assert.deepEqual([...new Set(generator.records.map((r) => r.latencyMs))], [300]);
});

test('latency is measured from the due time, so a late send shows up as latency', async (t) => {
  const clock = fakeClock(t);
  const generator = new OpenModelGenerator({
    ratePerSec: 50, now: clock.now, timeoutMs: 1000, chooseOp: (i) => i % 2,
    execute: () => new Promise<boolean>((resolve) => setTimeout(() => resolve(true), 20)),
  });
  generator.start();
  await clock.advance(100);
  // the event loop is blocked for 200 ms: no tick runs, requests due meanwhile leave late
  t.mock.timers.setTime(Date.now() + 200);
  await clock.advance(300);
  const stopped = generator.stop();
  await clock.advance(100);
  await stopped;
  const late = generator.records.filter((r) => r.lagMs > 100);
  assert.ok(late.length >= 5, `late requests: ${late.length}`);
  assert.ok(late.every((r) => r.ok && r.latencyMs === r.lagMs + 20), 'a late request\'s latency is its lag plus the 20 ms the target took');
  // a request in flight while the loop was blocked is answered late too: never less than the target took
  assert.ok(generator.records.every((r) => r.latencyMs >= r.lagMs + 20));
});

test('per-second series stamp each point at the end of its second', () => {
  const records = [
    { op: 0, dueMs: 100, lagMs: 1, latencyMs: 10, ok: true },
    { op: 1, dueMs: 900, lagMs: 1, latencyMs: 30, ok: false },
    { op: 0, dueMs: 1500, lagMs: 2, latencyMs: 20, ok: true },
  ];
  const points = loadSeries('kv', ['put', 'get'], records);
  const errorRatio = points.filter((p) => p.name === 'load_error_ratio' && p.labels.op === 'all');
  assert.deepEqual(errorRatio.map((p) => [p.t, p.v]), [[1000, 0.5], [2000, 0]]);
  const putP99 = points.filter((p) => p.name === 'load_latency_p99_ms' && p.labels.op === 'put');
  // HDR histograms: 3 significant digits, never below the true value
  assert.deepEqual(putP99.map((p) => p.t), [1000, 2000]);
  putP99.forEach((p, i) => assert.ok(p.v >= [10, 20][i]! && p.v <= [10, 20][i]! * 1.001, `${p.v}`));
});

test('a replayed shape drives the arrival rate: one day compressed into seconds', async (t) => {
  const { shapeProfile, rateAt } = await import('./executor.ts');
  // a "day" of 4 hourly points: quiet, busy, busy, quiet (mean 2): replayed 3,600x, one hour a second
  const hour = 3_600_000;
  const shape = { name: 'qps', labels: {}, t: Float64Array.from([0, hour, 2 * hour, 3 * hour]), v: Float64Array.from([1, 3, 3, 1]) };
  const profile = shapeProfile(shape, 100, 3600);
  assert.equal(rateAt(profile, 0), 50);
  assert.equal(rateAt(profile, 1000), 150);
  assert.equal(rateAt(profile, 1500), 150);
  assert.equal(rateAt(profile, 2500), 100);
  assert.equal(rateAt(profile, 3000 + 1000), 150, 'loops past the end');
  const clock = fakeClock(t);
  const generator = new OpenModelGenerator({ ratePerSec: 100, now: clock.now, timeoutMs: 100, chooseOp: () => 0, execute: async () => true, profile });
  generator.start();
  await clock.advance(2000);
  const stopped = generator.stop();
  await clock.advance(10);
  await stopped;
  const firstSecond = generator.records.filter((r) => r.dueMs < 1000).length;
  const secondSecond = generator.records.filter((r) => r.dueMs >= 1000 && r.dueMs < 2000).length;
  // 0..1 s ramps 50 -> 150 (the integral: 100 requests); 1..2 s stays at 150
  assert.ok(Math.abs(firstSecond - 100) <= 1, `first second ${firstSecond}`);
  assert.ok(Math.abs(secondSecond - 150) <= 1, `second second ${secondSecond}`);
});
