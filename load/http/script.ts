import { spawnSync } from 'node:child_process';
import { basename } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Pool } from 'undici';
import { readRegularFile } from '../../core/files.ts';
import { uniformAt } from '../executor.ts';
import type { LoadStats } from '../stats.ts';

/** A script larger than this is not one a person wrote. */
export const MAX_SCRIPT_BYTES = 256 * 1024;
/** Distinct request names a script may use; any beyond are counted under "other". */
export const MAX_SCRIPT_OPS = 50;

/**
 * A scenario's HTTP script (`script: ./flow.mjs`): an ES module whose default export builds one
 * iteration's requests. The generator calls it once per arrival, on schedule, in its worker
 * threads, with this API (a small subset of k6's, under its names):
 *
 * ```js
 * export default async function ({ http, iteration, worker, random }) {
 *   const created = await http.post('/accounts', { owner: `o${iteration}` }, { name: 'create' });
 *   if (created.status !== 201) return;
 *   const { id } = created.json();                      // correlation: the id goes into the next request
 *   await http.get(`/accounts/${id}`, { name: 'read' });
 * }
 * ```
 *
 * - `http.get(path, opts)`, `http.del(path, opts)`, `http.post(path, body, opts)`,
 *   `http.put(path, body, opts)`, `http.request(method, path, { body, headers, name })`: a path on
 *   the load's target; an object body is sent as JSON. Each resolves to
 *   `{ status, body, headers, json() }` and never rejects: a request that fails or times out
 *   has `status: 0` and `error`.
 * - every request is one sample under its `name` (default "METHOD /path" without the query) in
 *   the load's series and gates (`latency_ms{op:create}`); a 2xx status is a success.
 * - the iteration's first request is measured from the iteration's due time (no coordinated
 *   omission); later ones from when they were sent, since they wait for the answers before them.
 * - `random()`: uniform in [0, 1), seeded from the run's seed and the iteration number, the same
 *   on a replay whichever worker runs it. `iteration`: the arrival's index; `worker`: the thread's.
 * - an iteration that throws counts as one failed `iteration` sample.
 * The module is loaded at validation (a syntax error, a throwing top level or a default export
 * that is not a function is reported with the script's file:line) and once per worker.
 */
export type ScriptIteration = (api: ScriptApi) => unknown;

export interface ScriptResponse {
  status: number;
  body: string;
  headers: Record<string, string | string[] | undefined>;
  json(): any;
  error?: string;
}

interface RequestOptions {
  body?: unknown;
  headers?: Record<string, string>;
  /** the sample's name in series and gates */
  name?: string;
}

export interface ScriptApi {
  iteration: number;
  worker: number;
  random(): number;
  http: {
    request(method: string, path: string, options?: RequestOptions): Promise<ScriptResponse>;
    get(path: string, options?: Omit<RequestOptions, 'body'>): Promise<ScriptResponse>;
    del(path: string, options?: Omit<RequestOptions, 'body'>): Promise<ScriptResponse>;
    post(path: string, body?: unknown, options?: Omit<RequestOptions, 'body'>): Promise<ScriptResponse>;
    put(path: string, body?: unknown, options?: Omit<RequestOptions, 'body'>): Promise<ScriptResponse>;
  };
}

/** The API one iteration gets, recording each of its requests into the worker's stats. */
export function scriptApi(options: { pool: Pool; seed: number; iteration: number; worker: number; timeoutMs: number; now: () => number; dueMs: number; lagMs: number; stats: LoadStats; ops: Set<string>; maxOps: number }): ScriptApi {
  const { pool, stats, ops } = options;
  let first = true;
  let draws = 0;
  const request = async (method: string, path: string, request: RequestOptions = {}): Promise<ScriptResponse> => {
    const sentMs = options.now();
    const fromMs = first ? options.dueMs : sentMs;
    const lag = first ? options.lagMs : null;
    first = false;
    let name = request.name ?? `${method.toUpperCase()} ${String(path).split('?')[0]}`;
    if (!ops.has(name)) {
      if (ops.size >= options.maxOps) name = 'other';
      else ops.add(name);
    }
    if (typeof path !== 'string' || !path.startsWith('/')) {
      stats.record(name, options.dueMs, lag, sentMs - fromMs, false);
      return failed(`expected a path starting with "/", saw ${JSON.stringify(path)}`);
    }
    const json = request.body !== undefined && typeof request.body !== 'string' && !Buffer.isBuffer(request.body);
    const body = request.body === undefined ? undefined : json ? JSON.stringify(request.body) : (request.body as string);
    const headers = { ...(json ? { 'content-type': 'application/json' } : {}), ...request.headers };
    const budget = Math.max(1, Math.floor(options.timeoutMs - (sentMs - fromMs)));
    try {
      // the signal bounds the wait for a connection too, which the socket timeouts do not
      const response = await pool.request({ path, method: method.toUpperCase() as 'GET', headers, body, headersTimeout: budget, bodyTimeout: budget, signal: AbortSignal.timeout(budget) });
      const text = await response.body.text();
      const ok = response.statusCode >= 200 && response.statusCode < 300;
      stats.record(name, options.dueMs, lag, options.now() - fromMs, ok);
      return { status: response.statusCode, body: text, headers: response.headers, json: () => JSON.parse(text) };
    } catch (error) {
      stats.record(name, options.dueMs, lag, options.now() - fromMs, false);
      return failed((error as Error).message);
    }
  };
  return {
    iteration: options.iteration,
    worker: options.worker,
    random: () => uniformAt(options.seed ^ 0x5bd1e995, options.iteration * 1024 + (draws++ % 1024)),
    http: {
      request,
      get: (path, o) => request('GET', path, o),
      del: (path, o) => request('DELETE', path, o),
      post: (path, body, o) => request('POST', path, { ...o, body }),
      put: (path, body, o) => request('PUT', path, { ...o, body }),
    },
  };
}

function failed(error: string): ScriptResponse {
  return { status: 0, body: '', headers: {}, error, json: () => { throw new Error(`no answer to parse: ${error}`); } };
}

/** Imports the script in a child Node and prints what went wrong as one JSON line. */
const CHECKER = `
try {
  const m = await import(process.argv[1]);
  if (typeof m.default !== 'function') console.log(JSON.stringify({ message: 'its default export is ' + (m.default === undefined ? 'missing' : 'a ' + typeof m.default) + ': export default async function ({ http }) { ... }' }));
} catch (error) {
  console.log(JSON.stringify({ message: String(error && error.name ? error.name + ': ' + error.message : error), stack: String(error && error.stack || '') }));
}`;

/**
 * Loads a scenario's script the way a worker will and says what is wrong with it, at the
 * script's own file:line when the error has one; undefined when it is usable.
 */
export function checkScript(file: string): string | undefined {
  try {
    readRegularFile(file, MAX_SCRIPT_BYTES);
  } catch (error) {
    return (error as Error).message;
  }
  const url = pathToFileURL(file).href;
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', CHECKER, url], { encoding: 'utf8', timeout: 20_000, maxBuffer: 1024 * 1024 });
  if (child.error || child.status !== 0) return `could not load the script: ${child.error?.message ?? child.stderr.trim().split('\n').slice(-3).join(' ')}`;
  const last = child.stdout.trim().split('\n').filter(Boolean).at(-1);
  if (!last) return undefined;
  const problem = JSON.parse(last) as { message: string; stack?: string };
  // the first frame in the script itself: "file:///…/flow.mjs:12"; a syntax error has none, and
  // `node --check` names its line ("/…/flow.mjs:12" first on stderr)
  let line = new RegExp(`${escape(url)}:(\\d+)`).exec(problem.stack ?? '')?.[1];
  if (!line) {
    const check = spawnSync(process.execPath, ['--check', file], { encoding: 'utf8', timeout: 20_000, maxBuffer: 1024 * 1024 });
    line = new RegExp(`^${escape(file)}:(\\d+)`, 'm').exec(check.stderr ?? '')?.[1];
  }
  return `${basename(file)}${line ? `:${line}` : ''}: ${problem.message.split('\n')[0]}`;
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
