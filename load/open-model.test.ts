import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OpenModelGenerator } from './open-model.ts';
import { loadSeries } from './summarize.ts';

const clock = () => {
  const zero = performance.now();
  return () => performance.now() - zero;
};

test('keeps the arrival rate when the target stops answering (no coordinated omission)', { timeout: 10_000 }, async () => {
  const now = clock();
  const generator = new OpenModelGenerator({
    ratePerSec: 100, now, timeoutMs: 300, chooseOp: () => 0,
    execute: () => new Promise<boolean>(() => { /* a target that never answers */ }),
  });
  generator.start();
  await new Promise((r) => setTimeout(r, 1000));
  await generator.stop();
  const sent = generator.records.length;
  // 100/s for 1 s: about 100 requests, none held back by the ones still pending
  assert.ok(sent >= 95 && sent <= 105, `sent ${sent}`);
  assert.ok(generator.records.every((r) => !r.ok));
  // latency runs from the due time to the give-up: the timeout, within a scheduling tolerance
  assert.ok(generator.records.every((r) => r.latencyMs >= 295 && r.latencyMs < 400), JSON.stringify(generator.records.slice(0, 3)));
});

test('latency is measured from the due time, so a late send shows up as latency', { timeout: 10_000 }, async () => {
  const now = clock();
  const generator = new OpenModelGenerator({
    ratePerSec: 50, now, timeoutMs: 1000, chooseOp: (i) => i % 2,
    execute: async () => {
      await new Promise((r) => setTimeout(r, 20));
      return true;
    },
  });
  generator.start();
  // block the event loop for 200 ms: requests due meanwhile leave late
  await new Promise((r) => setTimeout(r, 100));
  const blockUntil = performance.now() + 200;
  while (performance.now() < blockUntil) { /* busy */ }
  await new Promise((r) => setTimeout(r, 300));
  await generator.stop();
  const late = generator.records.filter((r) => r.lagMs > 100);
  assert.ok(late.length >= 5, `late requests: ${late.length}`);
  assert.ok(late.every((r) => r.latencyMs >= r.lagMs + 19), 'latency includes the lag');
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
  assert.deepEqual(putP99.map((p) => [p.t, p.v]), [[1000, 10], [2000, 20]]);
});

test('a replayed shape drives the arrival rate: one day compressed into seconds', { timeout: 10_000 }, async () => {
  const { shapeRate } = await import('./shape.ts');
  // a "day" of 4 hourly points: quiet, busy, busy, quiet (mean 2): replayed 10,800x, one day in 8 s
  const hour = 3_600_000;
  const shape = { name: 'qps', labels: {}, t: Float64Array.from([0, hour, 2 * hour, 3 * hour]), v: Float64Array.from([1, 3, 3, 1]) };
  const rate = shapeRate(shape, 100, 3600);
  assert.equal(rate(0), 50);
  assert.equal(rate(1000), 150);
  assert.equal(rate(1500), 150);
  assert.equal(rate(2500), 100);
  assert.equal(rate(3000 + 1000), 150, 'loops past the end');
  const now = clock();
  const generator = new OpenModelGenerator({ ratePerSec: 100, now, timeoutMs: 100, chooseOp: () => 0, execute: async () => true, rateAt: rate });
  generator.start();
  await new Promise((r) => setTimeout(r, 2000));
  await generator.stop();
  const firstSecond = generator.records.filter((r) => r.dueMs < 1000).length;
  const secondSecond = generator.records.filter((r) => r.dueMs >= 1000 && r.dueMs < 2000).length;
  // 0..1 s ramps 50 → 150 (about 100 requests); 1..2 s stays at 150
  assert.ok(firstSecond > 85 && firstSecond < 115, `first second ${firstSecond}`);
  assert.ok(secondSecond > 135 && secondSecond < 165, `second second ${secondSecond}`);
});
