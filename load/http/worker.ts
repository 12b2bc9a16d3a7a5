/**
 * One sending thread of an HTTP load (see workers.ts). Walks the load's whole arrival schedule
 * and sends the requests whose index falls to it (i mod workers), each on time from a keep-alive
 * undici pool; latency from the due time into per-second HDR histograms, sent to the run's thread
 * once a second as deltas.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { Pool } from 'undici';
import { ArrivalSchedule, uniformAt, type RateProfile } from '../executor.ts';
import { LoadStats } from '../stats.ts';
import { MAX_SCRIPT_OPS, scriptApi, type ScriptIteration } from './script.ts';

export interface WorkerConfig {
  /** http://ip:port of the target */
  origin: string;
  requests: { name: string; method: string; path: string; body?: string; weight: number }[];
  script?: string;
  seed: number;
  profile: RateProfile;
  /** epoch ms (high resolution) of the run clock's zero */
  zeroEpochMs: number;
  index: number;
  count: number;
  timeoutMs: number;
  connections: number;
  maxInFlight: number;
  /** a path to GET before the schedule starts (the app's health path): opens the pool's connections */
  warmupPath?: string;
}

export type WorkerMessage =
  | { type: 'stats'; buckets: ReturnType<LoadStats['drain']> }
  | { type: 'done'; busyShare: number; wallMs: number }
  | { type: 'error'; message: string };

const config = workerData as WorkerConfig;
/** the load's start on the run clock: the schedule's zero, the same in every worker */
let startMs = 0;
const port = parentPort!;
const now = () => performance.timeOrigin + performance.now() - config.zeroEpochMs;
const stats = new LoadStats();
const pool = new Pool(config.origin, { connections: config.connections, pipelining: 1, keepAliveTimeout: 30_000, connectTimeout: config.timeoutMs });
const totalWeight = config.requests.reduce((sum, r) => sum + r.weight, 0);
const buffers = config.requests.map((r) => (r.body === undefined ? undefined : Buffer.from(r.body)));
const headers = config.requests.map((_, j) => (buffers[j] ? { 'content-type': 'application/json', 'content-length': String(buffers[j]!.length) } : undefined));
const iteration: ScriptIteration | undefined = config.script ? (await import(pathToFileURL(config.script).href)).default : undefined;
const scriptOps = new Set<string>();

const schedule = new ArrivalSchedule(config.profile);
let index = 0;
let nextDueMs = schedule.next();
let previousDueMs = Number.NEGATIVE_INFINITY;
let inFlight = 0;
let stopping = false;
let timer: NodeJS.Timeout | NodeJS.Immediate | undefined;
let drained: (() => void) | undefined;
const cpuAtStart = process.threadCpuUsage();
const startedAt = performance.now();

function chooseRequest(i: number): number {
  let x = uniformAt(config.seed, i) * totalWeight;
  for (let j = 0; j < config.requests.length; j++) {
    x -= config.requests[j]!.weight;
    if (x < 0) return j;
  }
  return config.requests.length - 1;
}

function settle(): void {
  inFlight--;
  if (stopping && inFlight === 0) drained?.();
}

/**
 * One request of the fixed mix, through undici's lowest-level API (a handler object per request,
 * no promise or stream): the answer's status decides success, the body is read and dropped.
 */
function send(i: number, dueMs: number, sentMs: number): void {
  const j = chooseRequest(i);
  const r = config.requests[j]!;
  const lag = sentMs - dueMs;
  const remaining = Math.floor(config.timeoutMs - lag);
  if (inFlight >= config.maxInFlight || remaining <= 0) {
    stats.dropped(r.name, dueMs, lag);
    return;
  }
  inFlight++;
  const answer = new Answer(r.name, dueMs, lag);
  deadlines.push(answer);
  pool.dispatch({ origin: config.origin, path: r.path, method: r.method as 'GET', headers: headers[j], body: buffers[j], headersTimeout: remaining, bodyTimeout: remaining }, answer);
}

/**
 * Requests in flight in due order, which is deadline order: a request waiting in the pool for a
 * connection has no socket timer yet, so the deadline (due time + timeout) is kept here and swept
 * every 10 ms; an expired request fails at its deadline and is aborted when it gets a connection.
 */
let deadlines: Answer[] = [];
let deadlineHead = 0;
const sweep: NodeJS.Timeout = setInterval(() => {
  const t = now();
  while (deadlineHead < deadlines.length) {
    const answer = deadlines[deadlineHead]!;
    if (!answer.done && answer.dueMs + config.timeoutMs > t) break;
    answer.expire();
    deadlineHead++;
  }
  if (deadlineHead > 4096 && deadlineHead * 2 > deadlines.length) {
    deadlines = deadlines.slice(deadlineHead);
    deadlineHead = 0;
  }
}, 10);

class Answer {
  #status = 0;
  done = false;
  #controller: { abort(reason: Error): void } | undefined;
  readonly #op: string;
  readonly dueMs: number;
  readonly #lag: number;

  constructor(op: string, dueMs: number, lag: number) {
    this.#op = op;
    this.dueMs = dueMs;
    this.#lag = lag;
  }

  onRequestStart(controller: { abort(reason: Error): void }): void {
    this.#controller = controller;
    if (this.done) controller.abort(new Error('deadline passed while waiting for a connection'));
  }

  /** the deadline passed: a failure now, and the request given up */
  expire(): void {
    if (this.done) return;
    this.#finish(false);
    this.#controller?.abort(new Error('deadline passed'));
  }

  onResponseStart(_controller: unknown, statusCode: number): void {
    this.#status = statusCode;
  }

  onResponseData(): void {}

  onResponseEnd(): void {
    this.#finish(this.#status >= 200 && this.#status < 300);
  }

  onResponseError(): void {
    this.#finish(false);
  }

  #finish(ok: boolean): void {
    if (this.done) return;
    this.done = true;
    stats.record(this.#op, this.dueMs, this.#lag, now() - this.dueMs, ok);
    settle();
  }
}

/** One iteration of the scenario's script: its first request leaves at the due time, the rest after their predecessors. */
function runIteration(i: number, dueMs: number, sentMs: number): void {
  const lag = sentMs - dueMs;
  if (inFlight >= config.maxInFlight || lag >= config.timeoutMs) {
    stats.dropped('iteration', dueMs, lag);
    return;
  }
  inFlight++;
  const api = scriptApi({ pool, seed: config.seed, iteration: i, worker: config.index, timeoutMs: config.timeoutMs, now, dueMs, lagMs: lag, stats, ops: scriptOps, maxOps: MAX_SCRIPT_OPS });
  Promise.resolve().then(() => iteration!(api)).then(() => undefined, () => {
    // a script that throws fails its iteration: counted as a failed "iteration" from the due time
    stats.record('iteration', dueMs, null, now() - dueMs, false);
  }).finally(settle);
}

function pump(): void {
  timer = undefined;
  if (stopping) return;
  const t = now();
  for (let n = 0; startMs + nextDueMs <= t && n < 20_000; n++) {
    if (index % config.count === config.index) {
      if (iteration) runIteration(index, startMs + nextDueMs, t);
      else send(index, startMs + nextDueMs, t);
    }
    index++;
    previousDueMs = nextDueMs;
    nextDueMs = schedule.next();
  }
  if (!Number.isFinite(nextDueMs)) return;
  const wait = startMs + nextDueMs - now();
  // Timers have millisecond grain and never fire early. Above 2,000 requests/s per worker (gaps
  // under half a millisecond) the worker waits on the next turns of its loop, which still serve
  // the answers in between: sends stay within a few µs of due, at the cost of a busy thread.
  // Slower, it sleeps on a timer and sends at most about a millisecond late (late is 10 ms).
  const gap = (nextDueMs - previousDueMs) * config.count;
  timer = wait <= 0 || gap < 0.5 ? setImmediate(pump) : setTimeout(pump, Math.max(1, Math.round(wait)));
}

const flush: NodeJS.Timeout = setInterval(() => port.postMessage({ type: 'stats', buckets: stats.drain() } satisfies WorkerMessage), 1000);

port.on('message', (message: { type: 'start'; startMs: number } | { type: 'stop' }) => {
  if (message.type === 'start') {
    startMs = message.startMs;
    pump();
    return;
  }
  if (message.type !== 'stop' || stopping) return;
  stopping = true;
  if (timer) {
    clearTimeout(timer as NodeJS.Timeout);
    clearImmediate(timer as NodeJS.Immediate);
  }
  // the thread's own CPU time (not the event loop's utilization, which counts waiting turns as busy)
  const cpu = process.threadCpuUsage(cpuAtStart);
  const wallMs = performance.now() - startedAt;
  const busy = { utilization: (cpu.user + cpu.system) / 1000 / wallMs };
  void new Promise<void>((resolve) => {
    drained = resolve;
    if (inFlight === 0) resolve();
  }).then(async () => {
    clearInterval(flush);
    clearInterval(sweep);
    port.postMessage({ type: 'stats', buckets: stats.drain() } satisfies WorkerMessage);
    await pool.close().catch(() => pool.destroy());
    port.postMessage({ type: 'done', busyShare: busy.utilization, wallMs } satisfies WorkerMessage);
    port.close();
  });
});

process.on('uncaughtException', (error) => port.postMessage({ type: 'error', message: String(error?.stack ?? error) } satisfies WorkerMessage));
// Before t = 0: open the pool's connections with the app's health path (twice, so the code that
// sends and answers is compiled too). Not counted: the schedule has not started. A first second
// that also paid for 100 TCP handshakes showed a p99 ten times the steady state's.
if (config.warmupPath) {
  for (let round = 0; round < 2; round++) {
    await Promise.all(Array.from({ length: config.connections }, () => pool.request({ path: config.warmupPath!, method: 'GET', signal: AbortSignal.timeout(Math.max(1, Math.floor(config.timeoutMs))) })
      .then((response) => response.body.dump(), () => undefined)));
  }
}
port.postMessage({ type: 'ready' });
