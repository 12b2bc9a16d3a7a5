import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../../core/testing.ts';
import type { ExecutorSpec } from '../../core/scenario.ts';
import { HttpLoad } from './load.ts';
import type { HttpLoadSpec } from './spec.ts';

/** A real HTTP server on 127.0.0.1 for the generator to drive; closed when the test ends. */
async function serve(t: TestContext, handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<string> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  }));
  const address = server.address() as { port: number };
  return `http://127.0.0.1:${address.port}`;
}

/** A ramp that sends exactly `count` requests over about a second, then none. */
function finite(count: number): ExecutorSpec {
  return { kind: 'ramping-arrival-rate', startRatePerSec: count, stages: [{ durationMs: 1000, targetPerSec: count }, { durationMs: 1, targetPerSec: 0 }] };
}

function spec(overrides: Partial<HttpLoadSpec>): HttpLoadSpec {
  return {
    name: 'api', kind: 'http', target: 'app', ratePerSec: 400, timeoutMs: 2000, executor: { kind: 'constant-arrival-rate' }, workers: 1, connections: 8,
    requests: [{ name: 'a', method: 'GET', path: '/a', weight: 1 }, { name: 'b', method: 'GET', path: '/b', weight: 3 }],
    ...overrides,
  };
}

/** Runs a load until every request it will send has settled (the ramp ends by itself). */
async function runToEnd(load: HttpLoad, expected: number): Promise<void> {
  await load.ready();
  load.start();
  const deadline = Date.now() + 30_000;
  while (load.stats.totals().requests < expected && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
  await load.stop();
}

test('the request mix depends on the seed and the request index only, not on how many workers send it', async (t) => {
  const seen = new Map<string, number>();
  const url = await serve(t, (req, res) => {
    seen.set(req.url!, (seen.get(req.url!) ?? 0) + 1);
    res.end('ok');
  });
  const counts: Record<string, number>[] = [];
  for (const workers of [1, 2]) {
    seen.clear();
    const started = performance.now();
    const load = new HttpLoad({ spec: spec({ executor: finite(400), workers }), baseUrl: url, seed: 99, now: () => performance.now() - started });
    t.after(() => load.close());
    await runToEnd(load, 401);
    const result = await load.result();
    load.close();
    assert.equal(result.requests, 401, 'the ramp sends the integral of its rate (400) and the request at its end');
    assert.equal(result.errors, 0);
    assert.equal(result.generator!.workers, workers);
    counts.push({ a: result.byOp.a!.requests, b: result.byOp.b!.requests });
    // what the server saw is what the load counted
    assert.deepEqual({ a: seen.get('/a'), b: seen.get('/b') }, counts.at(-1));
  }
  assert.deepEqual(counts[0], counts[1]);
  assert.ok(counts[0]!.b! > counts[0]!.a!, 'weight 3 against 1');
});

test('a script carries an id from one answer into the next request, each request a sample under its name', async (t) => {
  const accounts = new Set<string>();
  let reads = 0;
  let unknown = 0;
  const url = await serve(t, (req, res) => {
    if (req.method === 'POST' && req.url === '/accounts') {
      const id = `acc-${accounts.size + 1}`;
      accounts.add(id);
      res.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify({ id }));
      return;
    }
    const match = /^\/accounts\/([^/?]+)$/.exec(req.url ?? '');
    reads++;
    if (!match || !accounts.has(match[1]!)) unknown++;
    res.writeHead(match && accounts.has(match[1]!) ? 200 : 404).end('{}');
  });
  const dir = tempDir(t, 'http-script');
  const script = join(dir, 'flow.mjs');
  writeFileSync(script, `export default async function ({ http, iteration }) {
  const created = await http.post('/accounts', { owner: 'o' + iteration }, { name: 'create' });
  if (created.status !== 201) throw new Error('create failed: ' + created.status);
  await http.get('/accounts/' + created.json().id, { name: 'read' });
}
`);
  const started = performance.now();
  const load = new HttpLoad({ spec: spec({ executor: finite(100), requests: [], script, workers: 2 }), baseUrl: url, seed: 5, now: () => performance.now() - started });
  t.after(() => load.close());
  await runToEnd(load, 2 * 101);
  const result = await load.result();
  load.close();
  assert.equal(result.readBackError, undefined, JSON.stringify(Object.keys(result.byOp)));
  assert.equal(result.byOp.create?.requests, 101, JSON.stringify(Object.fromEntries(Object.entries(result.byOp).map(([k, v]) => [k, [v.requests, v.errors]]))));
  assert.equal(result.byOp.read?.requests, 101, JSON.stringify(Object.fromEntries(Object.entries(result.byOp).map(([k, v]) => [k, [v.requests, v.errors]]))));
  assert.equal(result.errors, 0);
  assert.equal(reads, 101);
  assert.equal(unknown, 0, 'every read named an id the server had handed out');
});

test('a request still waiting for a connection fails at its deadline, measured from its due time', async (t) => {
  const held: ServerResponse[] = [];
  const url = await serve(t, (_req, res) => {
    held.push(res); // never answered until the test ends
  });
  t.after(() => held.forEach((res) => res.destroy()));
  const started = performance.now();
  const load = new HttpLoad({ spec: spec({ executor: finite(50), timeoutMs: 300, connections: 1 }), baseUrl: url, seed: 1, now: () => performance.now() - started });
  t.after(() => load.close());
  await runToEnd(load, 51);
  const result = await load.result();
  load.close();
  assert.equal(result.requests, 51);
  assert.equal(result.errors, 51, 'none answered: all failed, the queued ones too');
  const latency = result.byOp.b!.latency;
  assert.ok(latency.minMs >= 300, `a failure is counted at the deadline, not before: min ${latency.minMs} ms`);
});
