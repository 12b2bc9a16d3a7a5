import { createWriteStream, type WriteStream } from 'node:fs';
import { Etcd3 } from 'etcd3';
import type { SeededRandom } from '../core/random.ts';
import { errorMessage } from '../core/errors.ts';
import type { EtcdKvLoadSpec } from '../runner/scenario/index.ts';
import type { Load, LoadResult } from './types.ts';
import { OpenModelGenerator, type RequestRecord } from './open-model.ts';
import { loadSeries, type LoadPoint } from './summarize.ts';

export const ETCD_KV_OPS = ['put', 'get'] as const;

export type { LoadResult } from './types.ts';

/**
 * etcd put/get load through etcd's own gRPC client (the etcd3 package), at a fixed arrival rate.
 * Every acknowledged put is logged (`acked-writes.jsonl`), and after the faults are healed every
 * key is read back to count lost writes.
 */
export class EtcdKvLoad implements Load {
  readonly spec: EtcdKvLoadSpec;
  readonly #client: Etcd3;
  readonly #generator: OpenModelGenerator;
  readonly #prefix: string;
  readonly #acked = new Map<string, string>();
  readonly #attempted = new Map<string, string>();
  readonly #ackLog: WriteStream;

  constructor(options: { spec: EtcdKvLoadSpec; endpoints: string[]; runId: string; random: SeededRandom; now: () => number; ackFile: string; rateAt?: (tMs: number) => number }) {
    const { spec } = options;
    this.spec = spec;
    // buffered: a synchronous write per acknowledgement costs more than the put at high rates;
    // the read-back compares against the in-memory log, the file is the evidence
    this.#ackLog = createWriteStream(options.ackFile);
    this.#prefix = `moat/${options.runId}/${spec.name}/`;
    this.#client = new Etcd3({
      hosts: options.endpoints,
      dialTimeout: spec.timeoutMs,
      defaultCallOptions: () => ({ deadline: Date.now() + spec.timeoutMs }),
    });
    // the op sequence is drawn up front from the seed, so a replay sends the same mix in the same order
    const opRandom = options.random;
    this.#generator = new OpenModelGenerator({
      ratePerSec: spec.ratePerSec,
      now: options.now,
      timeoutMs: spec.timeoutMs,
      chooseOp: () => (opRandom.next() < spec.mix.put ? 0 : 1),
      execute: (op, i) => (op === 0 ? this.#put(i) : this.#get(i)),
      ...(options.rateAt ? { rateAt: options.rateAt } : {}),
    });
  }

  start(): void {
    this.#generator.start();
  }

  /** Every request so far, in completion order. */
  get records(): readonly RequestRecord[] {
    return this.#generator.records;
  }

  async #put(i: number): Promise<boolean> {
    const key = `${this.#prefix}${String(i).padStart(8, '0')}`;
    const value = `${i}`;
    this.#attempted.set(key, value);
    await this.#client.put(key).value(value).exec();
    this.#acked.set(key, value);
    this.#ackLog.write(JSON.stringify({ key, value }) + '\n');
    return true;
  }

  async #get(i: number): Promise<boolean> {
    // read a key that an earlier put may have written; a missing key is still a successful read
    const key = `${this.#prefix}${String(Math.max(0, i - 1)).padStart(8, '0')}`;
    await this.#client.get(key).string();
    return true;
  }

  async stop(): Promise<void> {
    await this.#generator.stop();
    if (!this.#ackLog.writableEnded) await new Promise<void>((resolve) => this.#ackLog.end(resolve));
  }

  series(): LoadPoint[] {
    return loadSeries(this.spec.name, ETCD_KV_OPS, this.#generator.records);
  }

  /** Reads every key back (linearizable) and compares with the acknowledged log. */
  async result(): Promise<LoadResult> {
    const records = this.#generator.records;
    const byOp: LoadResult['byOp'] = {};
    for (const [index, op] of ETCD_KV_OPS.entries()) {
      const list = records.filter((r) => r.op === index);
      byOp[op] = { requests: list.length, errors: list.filter((r) => !r.ok).length, latenciesMs: list.map((r) => r.latencyMs) };
    }
    const errors = records.filter((r) => !r.ok).length;
    const lags = records.map((r) => r.lagMs).sort((a, b) => a - b);
    const result: LoadResult = {
      name: this.spec.name,
      requests: records.length,
      errors,
      availability: records.length === 0 ? 1 : 1 - errors / records.length,
      byOp,
      ackedWrites: this.#acked.size,
      lostWrites: 0,
      lostKeys: [],
      indeterminateApplied: 0,
      scheduleLagP99Ms: lags.length === 0 ? 0 : lags[Math.min(lags.length - 1, Math.ceil(lags.length * 0.99) - 1)]!,
    };
    let stored: Record<string, string>;
    try {
      stored = await this.#readAll();
    } catch (error) {
      // without a read-back nothing can be said about lost writes: say so, and count them all as unverified
      result.readBackError = errorMessage(error);
      result.lostWrites = this.#acked.size;
      return result;
    }
    for (const [key, value] of this.#acked) {
      if (stored[key] !== value) result.lostKeys.push(key);
    }
    result.lostWrites = result.lostKeys.length;
    result.lostKeys = result.lostKeys.slice(0, 100);
    for (const [key, value] of this.#attempted) {
      if (!this.#acked.has(key) && stored[key] === value) result.indeterminateApplied++;
    }
    return result;
  }

  async #readAll(): Promise<Record<string, string>> {
    const deadline = Date.now() + 30_000;
    for (;;) {
      try {
        return await this.#client.getAll().prefix(this.#prefix).options({ deadline: Date.now() + 10_000 }).strings();
      } catch (error) {
        if (Date.now() > deadline) throw error;
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  }

  close(): void {
    this.#client.close();
  }
}
