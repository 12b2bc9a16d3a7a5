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
