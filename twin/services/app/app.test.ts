import { test } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from '../../../core/units.ts';
import { startTestTwin } from '../../../injectors/testing.ts';
import { isVerifiable } from '../../../injectors/index.ts';
import { FAULT_TYPES, toxicInjector } from '../../../injectors/index.ts';
import { HttpLoad } from '../../../load/index.ts';
import { parseExposition, SeriesStore } from '../../../observe/index.ts';
import type { ToxicSpec } from '../../../injectors/index.ts';
import { AppService } from './index.ts';
import { readFileSync } from 'node:fs';

const toxic = (id: string, over: Partial<ToxicSpec>): ToxicSpec => ({
  id, type: 'toxic', app: 'ledger', service: 'redis', toxic: 'latency', attributes: {}, stream: 'downstream', toxicity: 1, atMs: 0, durationMs: 0, ...over,
});

async function breakerState(url: string): Promise<number | undefined> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return parseExposition(text).samples.find((s) => s.name === 'ledger_breaker_state' && s.labels.dependency === 'redis')?.value;
}

/** GET /balance latencies, one request at a time. */
async function balanceLatencies(url: string, n: number): Promise<{ min: number; latencies: number[]; codes: number[] }> {
  const latencies: number[] = [];
  const codes: number[] = [];
  for (let i = 0; i < n; i++) {
    const start = performance.now();
    const response = await fetch(`${url}/balance?account=a1`);
    await response.text();
    latencies.push(performance.now() - start);
    codes.push(response.status);
  }
  return { min: Math.min(...latencies), latencies, codes };
}

test('ledger service behind Toxiproxy: latency raises p99 by the toxic and opens the breaker; heal restores both', { timeout: 300_000 }, async (t) => {
  const { twin, context } = await startTestTwin(t, 23, [
    { name: 'etcd', kind: 'etcd', replicas: 3, heartbeatMs: 100, electionMs: 1000, preVote: false },
    { name: 'redis', kind: 'redis', replicas: 1 },
    {
      name: 'ledger', kind: 'app', replicas: 1, app: 'ledger', port: 8080, health: '/healthz', env: {}, links: ['redis', 'etcd'],
      // a generous timeout first, so the toxic's latency shows in p99 before the breaker acts
      config: { memoryLimitMiB: 128, breaker: { errorRate: 0.3, timeoutMs: 1000, sleepWindowMs: 1000, minRequests: 10 } },
    },
  ]);
  await using _twin = twin;
  const app = twin.of('ledger', AppService);
  assert.deepEqual(app.links.map((l) => l.proxy), ['ledger-redis-1', 'ledger-etcd-1', 'ledger-etcd-2', 'ledger-etcd-3']);
  const post = await fetch(`${app.url}/transfer`, { method: 'POST', body: JSON.stringify({ from: 'a0', to: 'a1', amount: 5 }) });
  assert.equal(post.status, 200, await post.text());
  assert.deepEqual(await (await fetch(`${app.url}/balance?account=a1`)).json(), { account: 'a1', balance: 5 });

  // How closely the measured latency follows the toxic is a benchmark (bench/toxiproxy.ts); what
  // Toxiproxy guarantees, and the test checks, is that no answer through the toxic comes sooner.
  await t.test('a 100 ms latency toxic holds every answer through the link for at least 100 ms; heal removes exactly it', async () => {
    const fault = await toxicInjector.inject(toxic('slow', { attributes: { latency: 100 } }), context);
    let during: Awaited<ReturnType<typeof balanceLatencies>>;
    try {
      during = await balanceLatencies(app.url, 30);
      assert.ok(isVerifiable(fault));
      const evidence = await fault.verify();
      assert.ok(evidence.every((e) => e.ok), JSON.stringify(evidence));
    } finally {
      await fault.heal();
      await fault.heal();
    }
    assert.ok(during.codes.every((c) => c === 200), JSON.stringify(during.codes));
    assert.ok(during.min >= 100, `fastest answer during the toxic: ${during.min.toFixed(1)} ms`);
    const proxy = await app.toxiproxy!.get('ledger-redis-1');
    await assert.rejects(proxy.getToxic(`moat-${context.runId}-slow`), 'heal removed exactly its toxic');
    assert.equal((await fetch(`${app.url}/balance?account=a1`)).status, 200);
  });

  await t.test('latency beyond the dependency timeout flips the breaker metric to open; after heal it closes', async () => {
    assert.equal(await breakerState(app.url), 0);
    const fault = await toxicInjector.inject(toxic('slower', { attributes: { latency: 1500 } }), context);
    const load = new HttpLoad({
      spec: { name: 'api', kind: 'http', target: 'ledger', ratePerSec: 50, timeoutMs: 3000, executor: { kind: 'constant-arrival-rate' }, workers: 1, connections: 16, requests: [{ name: 'balance', method: 'GET', path: '/balance?account=a1', weight: 1 }] },
      baseUrl: app.url, seed: 1, now: () => performance.now(),
    });
    await load.ready();
    load.start();
    await waitFor('the redis breaker to open', 20_000, async () => ((await breakerState(app.url)) === 2 ? true : undefined), 200);
    const shed = await fetch(`${app.url}/balance?account=a1`);
    assert.equal(shed.status, 503, 'an open breaker sheds at once');
    await fault.heal();
    await waitFor('the redis breaker to close', 20_000, async () => ((await breakerState(app.url)) === 0 ? true : undefined), 200);
    const closedAt = performance.now();
    await waitFor('a request of the load to succeed after the breaker closed', 20_000, async () => (load.stats.successesDueFrom(closedAt) > 0 ? true : undefined), 100);
    await load.stop();
    const result = await load.result();
    load.close();
    assert.ok(result.errors > 0 && result.errors < result.requests, `${result.errors} of ${result.requests} failed`);
    const series = load.series();
    for (const name of ['http_req_duration_p99_ms', 'http_req_failed', 'iterations']) assert.ok(series.some((p) => p.name === name), name);
  });

  await t.test('down disables every proxy of the link, and heal enables them', async () => {
    const fault = await toxicInjector.inject(toxic('etcd-down', { service: 'etcd', toxic: 'down' }), context);
    assert.ok(isVerifiable(fault));
    const evidence = await fault.verify();
    assert.equal(evidence.length, 4, JSON.stringify(evidence));
    assert.ok(evidence.every((e) => e.ok), JSON.stringify(evidence));
    await fault.heal();
    for (const link of app.linksTo('etcd')) assert.equal((await app.toxiproxy!.get(link.proxy)).enabled, true);
  });

  await t.test('a config push: the ledger takes the new config (its revision gauge), the watch records the write and the write-back, heal restores the old config', async () => {
    const writes: { revision: number; detail: string }[] = [];
    const stop = app.observe({ store: new SeriesStore(), now: () => 0, intervalMs: 200, leaderChange: () => undefined, configWrite: (w) => writes.push(w) });
    try {
      const before = await app.config!.read();
      assert.deepEqual(before.value, { memoryLimitMiB: 128, breaker: { errorRate: 0.3, timeoutMs: 1000, sleepWindowMs: 1000, minRequests: 10 } });
      const fault = await FAULT_TYPES.config.inject({ id: 'push', type: 'config', app: 'ledger', set: { breaker: { timeoutMs: 1 } }, atMs: 0, durationMs: 0 }, context);
      try {
        assert.ok(isVerifiable(fault));
        const evidence = await fault.verify();
        assert.equal(evidence.length, 2, JSON.stringify(evidence));
        assert.ok(evidence.every((e) => e.ok), JSON.stringify(evidence));
        assert.match(evidence[1]!.detail, /ledger has config revision \d+ in force/);
        const pushed = await waitFor('the watch sees the push', 10_000, async () => writes.find((w) => /breaker\.timeoutMs 1000 -> 1\b/.test(w.detail)));
        assert.ok(pushed.revision > before.revision);
      } finally {
        await fault.heal();
      }
      const after = await app.config!.read();
      assert.deepEqual(after.value, before.value, 'heal writes the old config back');
      await waitFor('the watch sees the write-back', 10_000, async () => writes.find((w) => /breaker\.timeoutMs 1 -> 1000\b/.test(w.detail)));
      // the ledger takes the old config again at its next read (every 5 s)
      await waitFor('the ledger back on the old config', 12_000, async () => {
        const text = await (await fetch(`${app.url}/metrics`)).text();
        const revision = parseExposition(text).samples.find((s) => s.name === 'ledger_config_revision')?.value;
        return revision !== undefined && revision >= after.revision ? true : undefined;
      }, 250);
    } finally {
      await stop();
    }
  });
});

test('your own binary in the app slot: started with its links in MOAT_LINK_<SERVICE>, health-checked, secrets from the environment', { timeout: 60_000 }, async (t) => {
  process.env.MOAT_TEST_TOKEN = 's3cr3t-token-value';
  t.after(() => delete process.env.MOAT_TEST_TOKEN);
  const { twin } = await startTestTwin(t, 5, [
    { name: 'redis', kind: 'redis', replicas: 1 },
    { name: 'svc', kind: 'app', replicas: 1, command: ['python3', '-m', 'http.server', '9000'], port: 9000, health: '/', env: { GREETING: 'hi', TOKEN: 'Bearer ${MOAT_TEST_TOKEN}' }, links: ['redis'], config: { memoryLimitMiB: 256, breaker: { errorRate: 0.3, timeoutMs: 200, sleepWindowMs: 2000, minRequests: 10 } } },
  ]);
  await using _twin = twin;
  const app = twin.of('svc', AppService);
  assert.equal((await fetch(`${app.url}/`)).status, 200);
  const environ = Object.fromEntries(readFileSync(`/proc/${app.members[0]!.process.pid}/environ`, 'utf8').split('\0').filter(Boolean).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
  assert.equal(environ.MOAT_LINK_REDIS, app.linksTo('redis')[0]!.listen);
  assert.equal(environ.GREETING, 'hi');
  assert.equal(environ.TOKEN, 'Bearer s3cr3t-token-value', '${VAR} is read from moat\'s environment');
  assert.equal(environ.HOME, undefined, 'moat\'s own environment is not passed on');
  assert.match(environ.OTEL_EXPORTER_OTLP_ENDPOINT ?? '', /^http:\/\/10\.77\.\d+\.1:4318$/);
  const cmdline = readFileSync(`/proc/${app.members[0]!.process.pid}/cmdline`, 'utf8');
  assert.doesNotMatch(cmdline, /s3cr3t|GREETING/, 'the environment is not on the command line, where ps shows it');
});
