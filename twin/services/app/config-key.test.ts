import { test } from 'node:test';
import assert from 'node:assert/strict';
import { configChanges, mergeConfig } from './config-key.ts';

test('a config patch lays its fields over the config, key by key; the changes read as paths', () => {
  const config = { memoryLimitMiB: 256, breaker: { errorRate: 0.3, timeoutMs: 200 } };
  const merged = mergeConfig(config, { breaker: { timeoutMs: 1 } });
  assert.deepEqual(merged, { memoryLimitMiB: 256, breaker: { errorRate: 0.3, timeoutMs: 1 } });
  assert.deepEqual(config.breaker, { errorRate: 0.3, timeoutMs: 200 }, 'the original is not changed');
  assert.deepEqual(configChanges(config, merged), ['breaker.timeoutMs 200 -> 1']);
  assert.deepEqual(configChanges(merged, config), ['breaker.timeoutMs 1 -> 200']);
  assert.deepEqual(configChanges(config, { ...config, extra: [1] }), ['extra unset -> [1]']);
  assert.deepEqual(configChanges(config, config), []);
  assert.deepEqual(configChanges('a', 'b'), ['(whole value) "a" -> "b"']);
});

test('a key named __proto__ in a stored config or a patch stays a key and never reaches a prototype', () => {
  const stored = JSON.parse('{"__proto__": {"polluted": true}, "a": 1}') as unknown;
  const merged = mergeConfig(stored, JSON.parse('{"__proto__": {"more": 2}}')) as Record<string, unknown>;
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
  assert.equal(({} as Record<string, unknown>).more, undefined);
  assert.equal(Object.getPrototypeOf(merged), Object.prototype);
  assert.deepEqual(Object.keys(merged).sort(), ['__proto__', 'a']);
  assert.deepEqual(configChanges(stored, merged), ['__proto__.more unset -> 2']);
});
