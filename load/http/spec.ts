import * as z from 'zod';
import type { ScenarioCheck } from '../../core/scenario.ts';
import { loadCommon } from '../schema.ts';

/** Built-in open-model HTTP load against an app, a seeded weighted mix of requests. */
export interface HttpLoadSpec {
  name: string;
  kind: 'http';
  target: string;
  ratePerSec: number;
  timeoutMs: number;
  requests: { name: string; method: 'GET' | 'POST' | 'PUT' | 'DELETE'; path: string; body?: unknown; weight: number }[];
}

declare module '../../core/scenario.ts' {
  interface LoadSpecs {
    http: HttpLoadSpec;
  }
}

export const httpSchema = z.strictObject({
  ...loadCommon('2s'),
  kind: z.literal('http'),
  /** the request mix, chosen per request by weight from the seed */
  requests: z.array(z.strictObject({
    name: z.string().regex(/^[a-z0-9][a-z0-9-]{0,39}$/, { error: 'expected lower-case letters, digits and dashes (at most 40)' }).optional(),
    method: z.enum(['GET', 'POST', 'PUT', 'DELETE']).default('GET'),
    path: z.string().startsWith('/', { error: 'expected a path starting with "/"' }),
    body: z.unknown().optional(),
    weight: z.number().positive().default(1),
  })).min(1),
});

export function buildHttp(document: z.output<typeof httpSchema>, common: { name: string; target: string; ratePerSec: number; timeoutMs: number }, path: readonly (string | number)[], check: ScenarioCheck): HttpLoadSpec {
  const requests = document.requests.map((r) => ({ name: r.name ?? `${r.method} ${r.path.split('?')[0]}`, method: r.method, path: r.path, weight: r.weight, ...(r.body === undefined ? {} : { body: r.body }) }));
  const names = new Set<string>();
  requests.forEach((r, j) => {
    if (names.has(r.name)) check.report([...path, 'requests', j], `two requests are named ${JSON.stringify(r.name)}: give them distinct name:`);
    names.add(r.name);
    if (r.method === 'GET' && r.body !== undefined) check.report([...path, 'requests', j, 'body'], 'a GET request has no body');
  });
  return { ...common, kind: 'http', requests };
}
