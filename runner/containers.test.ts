import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../core/testing.ts';
import type { Journal } from '../core/journal.ts';
import { ResourceLedger } from '../core/resources.ts';
import { longFaultScenario, startMoat } from './testing/moat-cli.ts';
import { baseImage, ledgerBinary } from '../twin/index.ts';

/**
 * The containers backend with real Docker: the library's scenario files run unchanged on both
 * backends (`--backend`) and pass the same gates; a killed run's containers and network are
 * removed by `moat cleanup`; a user's image (built from its Dockerfile) runs as the service under
 * test with a toxic on its link and a memory squeeze. The images are built on first use and then
 * taken from the engine's cache.
 */
const root = new URL('..', import.meta.url).pathname;

function docker(args: string[]): string[] {
  return execFileSync('docker', args, { encoding: 'utf8' }).split('\n').filter(Boolean);
}

/** The run's containers and network as the engine lists them (by the run-id label). */
function engineObjects(runId: string): string[] {
  return [...docker(['ps', '-a', '--filter', `label=moat.run=${runId}`, '--format', 'container {{.Names}}']), ...docker(['network', 'ls', '--filter', `label=moat.run=${runId}`, '--format', 'network {{.Name}}'])];
}

async function runScenario(t: { after(fn: () => void): void }, file: string, backend: 'netns' | 'containers', extra: string[] = []): Promise<{ journal: Journal; code: number | null; stderr: string }> {
  const stateDir = tempDir(t, 'state');
  const outDir = tempDir(t, 'out');
  const run = startMoat(['run', file, '--backend', backend, '--out', outDir, ...extra], { MOAT_STATE_DIR: stateDir });
  const code = await run.exited;
  const [runDir] = readdirSync(outDir);
  assert.ok(runDir, `no run folder; stderr: ${run.stderr.join('').slice(-2000)}`);
  const journal = JSON.parse(readFileSync(join(outDir, runDir, 'journal.json'), 'utf8')) as Journal;
  assert.deepEqual(readdirSync(join(stateDir, 'ledger')), [], 'the ledger was closed: nothing outstanding');
  return { journal, code, stderr: run.stderr.join('') };
}

function assertPassed(journal: Journal, backend: string): void {
  assert.equal(journal.status, 'completed', `${backend}: ${journal.error}`);
  assert.equal(journal.verdict.passed, true, `${backend}: ${journal.verdict.reasons.join('; ')}`);
  assert.ok(journal.faults.every((f) => f.verified.ok), `${backend}: ${JSON.stringify(journal.faults.map((f) => f.verified))}`);
  assert.deepEqual(journal.cleanup, { ok: true, leftovers: [] });
  assert.deepEqual(engineObjects(journal.runId), [], `${backend}: containers or network left`);
}

test('etcd-split-brain runs unchanged on containers: the same gates pass, the partition is verified, nothing is left', { timeout: 600_000 }, async (t) => {
  const { journal, code } = await runScenario(t, join(root, 'scenarios/etcd-split-brain.yaml'), 'containers');
  assertPassed(journal, 'containers');
  assert.equal(code, 0);
  assert.equal(journal.gates.length, 6);
  const [fault] = journal.faults;
  assert.ok(fault!.verified.evidence.some((e) => e.kind === 'counter' && e.ok), 'nftables counted dropped packets in the pods');
  assert.ok(fault!.leaderChange && fault!.leaderChange.to !== fault!.target!.slice(0, 6), 'a new leader won on the majority side');
  assert.equal(journal.load[0]!.lostWrites, 0);
});

test('redis-latency passes the same gates on netns and on containers', { timeout: 900_000 }, async (t) => {
  const results = [];
  for (const backend of ['netns', 'containers'] as const) {
    const { journal } = await runScenario(t, join(root, 'scenarios/redis-latency.yaml'), backend);
    assertPassed(journal, backend);
    results.push(journal.gates.map((g) => [g.metric, g.threshold, g.ok]));
  }
  assert.deepEqual(results[0], results[1]);
});

const LONG_FAULT = longFaultScenario('containers');

test('SIGKILL during a containers run, then `moat cleanup`, removes its containers, network and namespaces', { timeout: 300_000 }, async (t) => {
  const stateDir = tempDir(t, 'state');
  const scenario = join(tempDir(t, 'sc'), 'long.yaml');
  writeFileSync(scenario, LONG_FAULT);
  const run = startMoat(['run', scenario, '--out', tempDir(t, 'out')], { MOAT_STATE_DIR: stateDir });
  await run.waitFor(/fault-applied: cut/, 240_000);
  const [ledger] = readdirSync(join(stateDir, 'ledger'));
  const runId = ledger!.replace('.jsonl', '');
  run.child.kill('SIGKILL');
  await run.exited;

  const left = engineObjects(runId);
  // three pods, three etcd containers, the network: the engine keeps them after moat died
  assert.equal(left.filter((l) => l.startsWith('container ')).length, 6, left.join(', '));
  assert.ok(left.includes(`network moat-${runId}`), left.join(', '));
  const cleanup = startMoat(['cleanup'], { MOAT_STATE_DIR: stateDir });
  assert.equal(await cleanup.exited, 0, cleanup.stderr.join('') + cleanup.stdout.join(''));
  assert.deepEqual(engineObjects(runId), []);
  assert.deepEqual(execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' }).split('\n').filter((l) => l.includes(`moat-${runId}-`)), []);
  assert.deepEqual(readdirSync(join(stateDir, 'ledger')), []);
});

test("a user's image, built from its Dockerfile, runs as the service under test with a toxic on its link and a memory squeeze", { timeout: 600_000 }, async (t) => {
  const dir = tempDir(t, 'own-image');
  // the user's Dockerfile: their Go service (here moat's ledger binary) on an image the engine has
  const ledger = ResourceLedger.open('ab12cd', { stateDir: tempDir(t, 'state-build') });
  const base = await baseImage(ledger);
  ledger.close();
  mkdirSync(join(dir, 'shop'));
  copyFileSync(await ledgerBinary(), join(dir, 'shop', 'ledger'));
  writeFileSync(join(dir, 'shop', 'Dockerfile'), [
    `FROM ${base.tag}`,
    'COPY ledger /usr/local/bin/shop',
    // the links' addresses come in MOAT_LINK_<SERVICE>; the service reads its own variable names
    'ENTRYPOINT ["sh", "-c", "REDIS_ADDR=$MOAT_LINK_REDIS ETCD_ENDPOINTS=http://${MOAT_LINK_ETCD%%,*} exec /usr/local/bin/shop"]',
    '',
  ].join('\n'));
  const tag = `moat-test-shop:${process.pid}`;
  t.after(() => { execFileSync('docker', ['rmi', '-f', tag], { stdio: 'ignore' }); });
  writeFileSync(join(dir, 'own-image.yaml'), `name: own-image
seed: 7
twin:
  backend: containers
  services:
    etcd: { kind: etcd, replicas: 1 }
    redis: { kind: redis }
    shop: { kind: app, image: "${tag}", build: ./shop, port: 8080, health: /healthz, links: [redis, etcd], resources: { memory: 256Mi } }
load:
  - { name: api, kind: http, target: shop, rate: 50/s, timeout: 2s, requests: [{ name: balance, method: GET, path: "/balance?account=a1" }] }
baseline: { warmup: 10s }
faults:
  - { id: slow-redis, type: toxic, link: shop->redis, toxic: latency, attributes: { latency: 150, jitter: 0 }, at: 10s, duration: 8s }
  - { id: squeeze, type: memory-squeeze, target: shop-1, memory: 96Mi, at: 22s, duration: 8s }
recovery: 5s
gates:
  # the 150 ms toxic trips the service's breaker for its 8 s (about a fifth of the run's requests)
  availability: [">= 60%"]
`);
  const { journal } = await runScenario(t, join(dir, 'own-image.yaml'), 'containers');
  assertPassed(journal, 'containers');
  assert.match(journal.plan.join('\n'), new RegExp(`image ${tag}`));
  const squeeze = journal.faults.find((f) => f.id === 'squeeze')!;
  assert.ok(squeeze.verified.evidence.some((e) => /memory limit reads 96 MiB/.test(e.detail)), JSON.stringify(squeeze.verified.evidence));
  assert.ok(squeeze.verified.evidence.some((e) => / 0 OOM kills since the squeeze/.test(e.detail)), JSON.stringify(squeeze.verified.evidence));
  const toxic = journal.faults.find((f) => f.id === 'slow-redis')!;
  assert.ok(toxic.verified.ok, JSON.stringify(toxic.verified.evidence));
});
