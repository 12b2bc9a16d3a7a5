import { Agent, request } from 'node:http';
import type { SeededRandom } from '../../core/random.ts';
import { percentile } from '../../core/thresholds.ts';
import { OpenModelGenerator, type RequestRecord } from '../open-model.ts';
import { loadSeries, type LoadPoint } from '../summarize.ts';
import type { Load, LoadResult } from '../types.ts';
import type { HttpLoadSpec } from './spec.ts';

/**
 * Built-in open-model HTTP load against an app: a seeded weighted mix of requests at a fixed
 * arrival rate, latency from each request's due time; a 2xx answer is a success. Besides the
 * `load_*` series it writes the names k6 users know, per second: `http_req_duration_p50_ms`,
 * `http_req_duration_p99_ms`, `http_req_failed` (ratio) and `iterations`.
 */
export class HttpLoad implements Load {
  readonly spec: HttpLoadSpec;
  readonly #generator: OpenModelGenerator;
  readonly #agent: Agent;

  constructor(options: { spec: HttpLoadSpec; baseUrl: string; random: SeededRandom; now: () => number }) {
    const { spec } = options;
    this.spec = spec;
    this.#agent = new Agent({ keepAlive: true, maxSockets: 512, timeout: spec.timeoutMs });
    const total = spec.requests.reduce((sum, r) => sum + r.weight, 0);
    const bodies = spec.requests.map((r) => (r.body === undefined ? undefined : typeof r.body === 'string' ? r.body : JSON.stringify(r.body)));
    this.#generator = new OpenModelGenerator({
      ratePerSec: spec.ratePerSec,
      now: options.now,
      timeoutMs: spec.timeoutMs,
      chooseOp: () => {
        let x = options.random.next() * total;
        for (const [index, r] of spec.requests.entries()) {
          x -= r.weight;
          if (x < 0) return index;
        }
        return spec.requests.length - 1;
      },
      execute: async (op) => {
        const r = spec.requests[op]!;
        const body = bodies[op];
        return new Promise<boolean>((resolve) => {
          const req = request(`${options.baseUrl}${r.path}`, {
            method: r.method, agent: this.#agent, timeout: spec.timeoutMs,
            ...(body === undefined ? {} : { headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }),
          }, (response) => {
            response.resume();
            response.on('end', () => resolve((response.statusCode ?? 0) >= 200 && (response.statusCode ?? 0) < 300));
            response.on('error', () => resolve(false));
          });
          req.on('timeout', () => req.destroy());
          req.on('error', () => resolve(false));
          req.end(body);
        });
      },
    });
  }

  start(): void {
    this.#generator.start();
  }

  async stop(): Promise<void> {
    await this.#generator.stop();
  }

  /** Every request so far, in completion order. */
  get records(): readonly RequestRecord[] {
    return this.#generator.records;
  }

  series(): LoadPoint[] {
    const names = this.spec.requests.map((r) => r.name);
    const points = loadSeries(this.spec.name, names, this.#generator.records);
    const labels = { load: this.spec.name };
    const byName = new Map([['load_latency_p50_ms', 'http_req_duration_p50_ms'], ['load_latency_p99_ms', 'http_req_duration_p99_ms'], ['load_error_ratio', 'http_req_failed'], ['load_requests_per_sec', 'iterations']]);
    for (const p of [...points]) {
      const alias = byName.get(p.name);
      if (alias && p.labels.op === 'all') points.push({ name: alias, labels, t: p.t, v: p.v });
    }
    return points;
  }

  async result(): Promise<LoadResult> {
    const records = this.#generator.records;
    const byOp: LoadResult['byOp'] = {};
    for (const [index, r] of this.spec.requests.entries()) {
      const list = records.filter((x) => x.op === index);
      byOp[r.name] = { requests: list.length, errors: list.filter((x) => !x.ok).length, latenciesMs: list.map((x) => x.latencyMs) };
    }
    const errors = records.filter((r) => !r.ok).length;
    return {
      name: this.spec.name, requests: records.length, errors, availability: records.length === 0 ? 1 : 1 - errors / records.length, byOp,
      ackedWrites: 0, lostWrites: 0, lostKeys: [], indeterminateApplied: 0,
      scheduleLagP99Ms: records.length === 0 ? 0 : percentile(records.map((r) => r.lagMs), 99),
    };
  }

  close(): void {
    this.#agent.destroy();
  }
}
