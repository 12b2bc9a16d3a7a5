import * as z from 'zod';
import type { ExecutorSpec, ScenarioCheck } from '../../core/scenario.ts';
import { loadCommon, type LoadCommon } from '../schema.ts';
import { checkScript } from './script.ts';

/** Built-in open-model HTTP load against an app, a seeded weighted mix of requests. */
export interface HttpLoadSpec {
  name: string;
  kind: 'http';
  target: string;
  ratePerSec: number;
  timeoutMs: number;
  executor: ExecutorSpec;
  /** the fixed mix (empty when a script builds the requests) */
  requests: { name: string; method: 'GET' | 'POST' | 'PUT' | 'DELETE'; path: string; body?: unknown; weight: number }[];
  /** an ES module that builds each iteration's requests (load/http/script.ts), resolved */
  script?: string;
  /** sending threads ('auto': one per 4,000 requests/s of the peak rate, at most one per core) */
  workers: number | 'auto';
  /** keep-alive connections to the target, over all workers */
  connections: number;
}

declare module '../../core/scenario.ts' {
  interface LoadSpecs {
    http: HttpLoadSpec;
  }
}

export const httpSchema = z.strictObject({
  ...loadCommon('2s'),
  kind: z.literal('http'),
  /** an ES module whose default export builds each iteration's requests (instead of requests:) */
  script: z.string().optional(),
  /** sending threads: a number, or auto (one per 4,000 requests/s, at most one per core) */
  workers: z.union([z.literal('auto'), z.int().min(1).max(16)]).default('auto'),
  /** keep-alive connections to the target, over all workers (as wrk's -c) */
  connections: z.int().min(1).max(10_000).default(100),
  /** the request mix, chosen per request by weight from the seed */
  requests: z.array(z.strictObject({
    name: z.string().regex(/^[a-z0-9][a-z0-9-]{0,39}$/, { error: 'expected lower-case letters, digits and dashes (at most 40)' }).optional(),
    method: z.enum(['GET', 'POST', 'PUT', 'DELETE']).default('GET'),
    path: z.string().startsWith('/', { error: 'expected a path starting with "/"' }),
    body: z.unknown().optional(),
    weight: z.number().positive().default(1),
  })).optional(),
});

export function buildHttp(document: z.output<typeof httpSchema>, common: LoadCommon, path: readonly (string | number)[], check: ScenarioCheck): HttpLoadSpec {
  if (document.script !== undefined && document.requests !== undefined) check.report([...path, 'script'], 'a load has either requests: or a script:, not both');
  if (document.script === undefined && (document.requests === undefined || document.requests.length === 0)) check.report([...path, 'requests'], 'expected requests: [{ method: GET, path: /... }] or a script: ./flow.mjs');
  let script: string | undefined;
  if (document.script !== undefined) {
    script = check.file(document.script, [...path, 'script']);
    const problem = script === undefined ? undefined : checkScript(script);
    if (problem) check.report([...path, 'script'], problem);
  }
  const requests = (document.requests ?? []).map((r) => ({ name: r.name ?? `${r.method} ${r.path.split('?')[0]}`, method: r.method, path: r.path, weight: r.weight, ...(r.body === undefined ? {} : { body: r.body }) }));
  const names = new Set<string>();
  requests.forEach((r, j) => {
    if (names.has(r.name)) check.report([...path, 'requests', j], `two requests are named ${JSON.stringify(r.name)}: give them distinct name:`);
    names.add(r.name);
    if (r.method === 'GET' && r.body !== undefined) check.report([...path, 'requests', j, 'body'], 'a GET request has no body');
  });
  return { ...common, kind: 'http', requests, workers: document.workers, connections: document.connections, ...(script ? { script } : {}) };
}
