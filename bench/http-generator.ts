// moat's HTTP generator against reference tools, side by side, on a no-op Go server in a netns
// twin (bench/noop-server): for each rate, moat's generator (constant-arrival-rate, worker
// threads, `connections` keep-alive connections) and vegeta (open model, pinned, from the Go
// module proxy) at the same rate and connection count, then wrk (closed loop, Debian) at the same
// connection count for its highest throughput. A rate is held by moat when, in the median of
// `repeats` steps, fewer than 1% of requests left more than 10 ms after their due time; vegeta
// holds a rate when its achieved rate is within 1% of it.
// Prints: moat's highest held rate / wrk's throughput, and moat p50 / vegeta p50 at that rate.
// Run: node bench/http-generator.ts [rates=5000,10000,15000,20000] [seconds=8] [repeats=3] [connections=64]
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { homedir } from 'node:os';
import { twinUp, AppService } from '../twin/index.ts';
import { HttpLoad } from '../load/index.ts';
import { sleep } from '../core/units.ts';
import { benchLedger, peakRssMiB } from './lib.ts';

const rates = (process.argv[2] ?? '5000,10000,15000,20000').split(',').map(Number);
const seconds = Number(process.argv[3] ?? 8);
const repeats = Number(process.argv[4] ?? 3);
const connections = Number(process.argv[5] ?? 64);
const here = import.meta.dirname;

const vegeta = execFileSync('bash', [join(here, 'install-reference.sh')], { encoding: 'utf8' }).trim().split('\n').at(-1)!;
const server = buildNoopServer();
const { runId, ledger, logDir } = benchLedger();
const twin = await twinUp({
  backend: 'netns',
  services: [{ name: 'noop', kind: 'app', replicas: 1, command: [server], port: 8080, health: '/', env: { ADDR: ':8080' }, links: [], config: { memoryLimitMiB: 256, breaker: { errorRate: 0.3, timeoutMs: 200, sleepWindowMs: 2000, minRequests: 10 } } }],
}, { runId, ledger, logDir });
const url = twin.of('noop', AppService).url;

interface Step { rate: number; lateShare: number; p50: number; p99: number; steadyP99: number; cpu: number; sent: number; errors: number }
let heldRate = 0;
let heldAt: Step | undefined;
let vegetaAtHeld: { p50: number; p99: number; rate: number } | undefined;
const all: { moat: Step; vegeta: { p50: number; p99: number; rate: number } }[] = [];
try {
  await moatStep(2000, 3, 0); // warm-up: the server's and the generator's first connections
  process.stdout.write(`no-op Go server at ${url}; ${connections} connections; ${seconds} s per step, median of ${repeats}\n`);
  for (const rate of rates) {
    const steps: Step[] = [];
    for (let r = 0; r < repeats; r++) steps.push(await moatStep(rate, seconds, r + 1));
    steps.sort((a, b) => a.lateShare - b.lateShare);
    const mid = steps[steps.length >> 1]!;
    const held = mid.lateShare < 0.01 && mid.errors === 0 && mid.sent >= 0.99 * rate * seconds;
    const v = await vegetaStep(rate);
    const vegetaHeld = v.rate >= rate * 0.99;
    process.stdout.write(`${String(rate).padStart(6)}/s  moat: late >10 ms ${(mid.lateShare * 100).toFixed(2)}%, p50 ${mid.p50.toFixed(3)} ms, p99 ${mid.p99.toFixed(2)} ms (after the first second ${mid.steadyP99.toFixed(2)} ms), generator CPU ${(mid.cpu * 100).toFixed(0)}% of a core ${held ? 'HELD' : 'not held'}` +
      `  |  vegeta: achieved ${v.rate.toFixed(0)}/s, p50 ${v.p50.toFixed(3)} ms, p99 ${v.p99.toFixed(2)} ms ${vegetaHeld ? 'held' : 'not held'}\n`);
    all.push({ moat: mid, vegeta: v });
    if (held) {
      heldRate = rate;
      heldAt = mid;
      vegetaAtHeld = v;
    }
  }
  const wrk = wrkStep();
  process.stdout.write(`wrk -t2 -c${connections} -d${seconds}s: ${wrk.rate.toFixed(0)} requests/s, p50 ${wrk.p50.toFixed(3)} ms (closed loop: its highest throughput)\n`);
  process.stdout.write(`\nmoat's highest rate held (< 1% of requests > 10 ms late): ${heldRate}/s (target >= 10000/s: ${heldRate >= 10_000 ? 'meets' : 'MISSES'})\n`);
  process.stdout.write(`ratio moat held rate / wrk throughput: ${(heldRate / wrk.rate).toFixed(2)}\n`);
  if (heldAt && vegetaAtHeld) process.stdout.write(`ratio moat p50 / vegeta p50 at ${heldRate}/s: ${(heldAt.p50 / vegetaAtHeld.p50).toFixed(2)} (target <= 1.2: ${heldAt.p50 / vegetaAtHeld.p50 <= 1.2 ? 'meets' : 'MISSES'}); p99 ${(heldAt.p99 / vegetaAtHeld.p99).toFixed(2)} (after moat's first second ${(heldAt.steadyP99 / vegetaAtHeld.p99).toFixed(2)})\n`);
  const at10k = all.find((s) => s.moat.rate === 10_000);
  if (at10k) process.stdout.write(`at 10000/s: moat p50 / vegeta p50 ${(at10k.moat.p50 / at10k.vegeta.p50).toFixed(2)}, p99 ${(at10k.moat.p99 / at10k.vegeta.p99).toFixed(2)} (after moat's first second ${(at10k.moat.steadyP99 / at10k.vegeta.p99).toFixed(2)})\n`);
  process.stdout.write(`peak RSS of the bench process (moat's generator and its workers): ${peakRssMiB().toFixed(0)} MiB\n`);
} finally {
  await twin.down();
  ledger.close();
}

async function moatStep(rate: number, durationS: number, repeat: number): Promise<Step> {
  const zero = performance.now();
  const load = new HttpLoad({
    spec: { name: `r${rate}`, kind: 'http', target: 'noop', ratePerSec: rate, timeoutMs: 2000, executor: { kind: 'constant-arrival-rate' }, workers: 'auto', connections, requests: [{ name: 'get', method: 'GET', path: '/', weight: 1 }] },
    baseUrl: url, seed: rate, now: () => performance.now() - zero, warmupPath: '/',
  });
  await load.ready();
  const startedMs = performance.now() - zero;
  load.start();
  await sleep(durationS * 1000);
  await load.stop();
  const result = await load.result();
  load.close();
  const latency = result.byOp.get!.latency;
  // every second but the first: new worker threads start with cold code (V8 compiles the sending path as it runs)
  const steady = load.stats.totals(startedMs + 1000).byOp.get!.latency;
  const step = { rate, lateShare: result.generator!.lateShare, p50: latency.percentile(50), p99: latency.percentile(99), steadyP99: steady.percentile(99), cpu: result.generator!.cpuShare ?? 0, sent: result.requests, errors: result.errors };
  if (repeat > 0) process.stdout.write(`  moat ${rate}/s step ${repeat}: ${step.sent} sent, ${step.errors} failed, late ${(step.lateShare * 100).toFixed(2)}%, lag p99 ${result.generator!.lagP99Ms.toFixed(1)} ms, p50 ${step.p50.toFixed(3)} ms, ${result.generator!.workers} workers\n`);
  return step;
}

async function vegetaStep(rate: number): Promise<{ rate: number; p50: number; p99: number }> {
  const attack = spawn(vegeta, ['attack', `-rate=${rate}/s`, `-duration=${seconds}s`, `-connections=${connections}`, `-max-connections=${connections}`, '-timeout=2s', '-keepalive=true'], { stdio: ['pipe', 'pipe', 'inherit'] });
  attack.stdin.end(`GET ${url}/\n`);
  const report = spawn(vegeta, ['report', '-type=json'], { stdio: ['pipe', 'pipe', 'inherit'] });
  attack.stdout.pipe(report.stdin);
  let out = '';
  report.stdout.on('data', (chunk) => (out += chunk));
  await new Promise((resolve) => report.on('exit', resolve));
  const json = JSON.parse(out) as { rate: number; latencies: Record<string, number> };
  return { rate: json.rate, p50: json.latencies['50th']! / 1e6, p99: json.latencies['99th']! / 1e6 };
}

function wrkStep(): { rate: number; p50: number } {
  const out = execFileSync('wrk', ['-t2', `-c${connections}`, `-d${seconds}s`, '--latency', `${url}/`], { encoding: 'utf8' });
  const rate = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)![1]);
  const p50 = /50%\s+([\d.]+)(us|ms|s)/.exec(out)!;
  const unit = { us: 0.001, ms: 1, s: 1000 }[p50[2] as 'us' | 'ms' | 's'];
  return { rate, p50: Number(p50[1]) * unit };
}

/** The no-op server, built once per source version into the cache. */
function buildNoopServer(): string {
  const source = join(here, 'noop-server', 'main.go');
  const dir = join(process.env.MOAT_CACHE ?? join(homedir(), '.cache', 'moat'), `noop-server-${createHash('sha256').update(readFileSync(source)).digest('hex').slice(0, 12)}`);
  const binary = join(dir, 'noop-server');
  if (existsSync(binary)) return binary;
  const tmp = `${dir}.${process.pid}.tmp`;
  mkdirSync(tmp, { recursive: true });
  const go = existsSync('/usr/local/go/bin/go') ? '/usr/local/go/bin/go' : 'go';
  execFileSync(go, ['build', '-o', join(tmp, 'noop-server'), source], { stdio: 'inherit', env: { ...process.env, GO111MODULE: 'off' } });
  rmSync(dir, { recursive: true, force: true });
  renameSync(tmp, dir);
  return binary;
}
