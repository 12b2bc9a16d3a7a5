import * as z from 'zod';
import type { ScenarioCheck } from '../../../core/scenario.ts';

/** A service under test on its own host; its links to other services go through Toxiproxy. */
export interface AppServiceSpec {
  name: string;
  kind: 'app';
  replicas: 1;
  app?: 'ledger';
  command?: string[];
  /** the user's own image (containers backend): a local tag, or `build` to have moat build it */
  image?: string;
  /** a folder with a Dockerfile (resolved against the scenario's folder) that moat builds into `image` */
  build?: string;
  port: number;
  health: string;
  /** extra environment; `${VAR}` is read from moat's own environment when the app starts */
  env: Record<string, string>;
  links: string[];
  /** the ledger's config, written to etcd */
  config: { memoryLimitMiB: number; receiptsMiB?: number; breaker: { errorRate: number; timeoutMs: number; sleepWindowMs: number; minRequests: number } };
}

declare module '../../../core/scenario.ts' {
  interface ServiceSpecs {
    app: AppServiceSpec;
  }
}

const DEFAULT_CONFIG: AppServiceSpec['config'] = { memoryLimitMiB: 256, breaker: { errorRate: 0.3, timeoutMs: 200, sleepWindowMs: 2000, minRequests: 10 } };

export const appSchema = z.strictObject({
  kind: z.literal('app'),
  /** moat's own Go service under test (twin/apps/ledger); or give `command` for your own binary */
  app: z.literal('ledger').optional(),
  command: z.array(z.string()).min(1).optional(),
  /** your own image, loaded into the engine (`docker load`) — twin.backend: containers; `command` then overrides its CMD */
  image: z.string().regex(/^[a-z0-9][a-z0-9._/-]*(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?$/, { error: 'expected an image reference such as registry/name:tag (local to the engine)' }).optional(),
  /** a folder with a Dockerfile that moat builds into your image (relative to the scenario file) */
  build: z.string().min(1).optional(),
  port: z.int().min(1).max(65535).default(8080),
  /** HTTP path that answers 2xx once the app is ready */
  health: z.string().default('/healthz'),
  env: z.record(z.string().regex(/^[A-Z_][A-Z0-9_]*$/, { error: 'expected an environment variable name' }), z.string()).default({}),
  /** services the app talks to; each link goes through Toxiproxy, where toxics act */
  links: z.array(z.string()).default([]),
  /**
   * ledger: written to etcd before it starts. memoryLimitMiB binds Go's GC to a soft limit
   * (SetMemoryLimit; 0: off), receiptsMiB keeps that much of the last transfers' receipts in memory
   * (a working set that grows with traffic), breaker: errorRate, timeoutMs, sleepWindowMs, minRequests
   */
  config: z.strictObject({
    memoryLimitMiB: z.int().refine((v) => v === 0 || v >= 16, { error: 'expected 0 (no limit) or at least 16' }).default(256),
    receiptsMiB: z.int().min(0).max(4096).default(0),
    breaker: z.strictObject({
      errorRate: z.number().gt(0).max(1).default(0.3),
      timeoutMs: z.int().min(1).default(200),
      sleepWindowMs: z.int().min(1).default(2000),
      minRequests: z.int().min(1).default(10),
    }).default(DEFAULT_CONFIG.breaker),
  }).optional(),
});

/** A change to the ledger's config (a `config` fault): any of its fields, each checked as the service's own config is. */
export const ledgerConfigPatchSchema = z.strictObject({
  memoryLimitMiB: z.int().refine((v) => v === 0 || v >= 16, { error: 'expected 0 (no limit) or at least 16' }).optional(),
  receiptsMiB: z.int().min(0).max(4096).optional(),
  breaker: z.strictObject({
    errorRate: z.number().gt(0).max(1).optional(),
    timeoutMs: z.int().min(1).optional(),
    sleepWindowMs: z.int().min(1).optional(),
    minRequests: z.int().min(1).optional(),
  }).optional(),
});

export function buildApp(name: string, document: z.output<typeof appSchema>, check: ScenarioCheck): AppServiceSpec {
  const path = ['twin', 'services', name];
  const ownImage = document.image !== undefined || document.build !== undefined;
  if ([document.app !== undefined, document.command !== undefined && !ownImage, ownImage].filter(Boolean).length !== 1) check.report(path, 'expected exactly one of app: ledger (moat\'s Go service), command: [your binary, args...], or image: / build: (your image, on twin.backend: containers)');
  if (document.build !== undefined && document.image === undefined) check.report([...path, 'build'], 'build needs image: the tag moat builds the Dockerfile into');
  if (document.command?.some((part) => /[\u0000-\u001f\u007f]/.test(part))) check.report([...path, 'command'], 'expected no control characters (newlines, tabs, NUL) in the command');
  if (document.config !== undefined && document.app !== 'ledger') check.report([...path, 'config'], 'config applies to app: ledger (your own binary reads its own configuration)');
  return {
    name, kind: 'app', replicas: 1, port: document.port, health: document.health, env: document.env, links: document.links, config: document.config ?? DEFAULT_CONFIG,
    ...(document.app ? { app: document.app } : {}), ...(document.command ? { command: document.command } : {}),
    ...(document.image ? { image: document.image } : {}), ...(document.build ? { build: check.file(document.build, [...path, 'build']) ?? document.build } : {}),
  };
}

/** Links go to a service of the twin that speaks a protocol Toxiproxy can carry; the ledger needs Redis and etcd. */
export function validateApp(spec: AppServiceSpec, check: ScenarioCheck): void {
  const others = [...check.services.keys()].filter((n) => n !== spec.name);
  spec.links.forEach((link, i) => {
    const target = check.services.get(link);
    const path = ['twin', 'services', spec.name, 'links', i];
    if (!target || link === spec.name) check.report(path, `expected a service of the twin (${others.join(', ')}), saw ${JSON.stringify(link)}`);
    else if (target.kind !== 'redis' && target.kind !== 'etcd') check.report(path, `links go to redis or etcd services so far; ${link} is ${target.kind}`);
  });
  if (spec.app === 'ledger') {
    const kinds = spec.links.map((l) => check.services.get(l)?.kind);
    if (!kinds.includes('redis') || !kinds.includes('etcd')) check.report(['twin', 'services', spec.name, 'links'], `the ledger app needs a link to a redis service and to an etcd service (it stores balances in Redis and reads its config from etcd), saw [${spec.links.join(', ')}]`);
  }
}
