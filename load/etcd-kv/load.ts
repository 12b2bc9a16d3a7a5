import { createWriteStream, type WriteStream } from 'node:fs';
import { Etcd3, GRPCDeadlineExceededError, GRPCUnavailableError, type IOptions } from 'etcd3';
import { noop } from 'cockatiel';
import { InterceptingCall, type CallOptions, type Interceptor } from '@grpc/grpc-js';
import type { SeededRandom } from '../../core/random.ts';
import { errorMessage, MoatError } from '../../core/errors.ts';
import { resultOf, type Load, type LoadResult } from '../types.ts';
import { OpenModelGenerator, type RequestRecord } from '../open-model.ts';
import { statsOf, type LoadPoint } from '../summarize.ts';
import type { RateProfile } from '../executor.ts';
import type { EtcdKvLoadSpec } from './spec.ts';

export const ETCD_KV_OPS = ['put', 'get'] as const;


/**
 * etcd put/get load through etcd's gRPC API (the etcd3 package), at a fixed arrival rate.
 * Every acknowledged put is logged (`acked-writes.jsonl`), and after the faults are healed every
 * key is read back to count lost writes.
 *
 * How the client picks a member is the scenario's to say (`client:`), because it decides what a
 * partition costs: etcd serves a request only through a member that has a leader, and a member cut
 * off from its peers keeps its client connections.
 * - `balance: round-robin` (etcd's clients): request i goes to the next member in turn. Without
 *   `requireLeader` a request that lands on a member without a leader waits for its deadline;
 *   with it (etcd's `WithRequireLeader`, the `hasleader` gRPC metadata) that member refuses at once
 *   and the request moves on to the next member within its deadline.
 * - `balance: leader`: every request goes to the member that leads; after a failure the client
 *   asks the members who leads now (the highest raft term wins).
 * A refused or unreachable member is always skipped for the next; a request is never retried after
 * its deadline. etcd3's own retries and circuit breakers are off, so what happens is what is written here.
 */
export class EtcdKvLoad implements Load {
  readonly spec: EtcdKvLoadSpec;
  /** per member, in member order, one client per channel */
  readonly #members: Etcd3[][];
  /** the client for read-back: every member, etcd3's own failover */
  readonly #readBack: Etcd3;
  #offset = 0;
  #leader = 0;
  #discovering: Promise<void> | undefined;
  /** balance: leader: resolves once the first question of who leads has an answer */
  #firstDiscovery: Promise<void> | undefined;
  readonly #generator: OpenModelGenerator;
  readonly #prefix: string;
  readonly #acked = new Map<string, string>();
  readonly #attempted = new Map<string, string>();
  readonly #ackLog: WriteStream;

  constructor(options: { spec: EtcdKvLoadSpec; endpoints: string[]; runId: string; random: SeededRandom; now: () => number; ackFile: string; profile?: RateProfile }) {
    const { spec } = options;
    this.spec = spec;
    // buffered: a synchronous write per acknowledgement costs more than the put at high rates;
    // the read-back compares against the in-memory log, the file is the evidence
    this.#ackLog = createWriteStream(options.ackFile);
    this.#prefix = `moat/${options.runId}/${spec.name}/`;
    const interceptors = spec.client.requireLeader ? [requireLeader] : [];
    const single = (host: string): IOptions => ({
      hosts: [host],
      dialTimeout: spec.timeoutMs,
      faultHandling: { host: () => noop, global: noop },
      defaultCallOptions: (): CallOptions => ({ deadline: Date.now() + spec.timeoutMs, interceptors }),
      // each client its own connection: grpc-js shares one per target across channels otherwise
      ...(spec.client.channels > 1 ? { grpcOptions: { 'grpc.use_local_subchannel_pool': 1 } } : {}),
    });
    this.#members = options.endpoints.map((endpoint) => Array.from({ length: spec.client.channels }, () => new Etcd3(single(endpoint))));
    this.#readBack = new Etcd3({ hosts: options.endpoints, dialTimeout: spec.timeoutMs });
    // the op sequence is drawn up front from the seed, so a replay sends the same mix in the same order
    const opRandom = options.random;
    this.#offset = Math.floor(opRandom.next() * options.endpoints.length);
    this.#generator = new OpenModelGenerator({
      ratePerSec: spec.ratePerSec,
      now: options.now,
      timeoutMs: spec.timeoutMs,
      chooseOp: () => (opRandom.next() < spec.mix.put ? 0 : 1),
      execute: (op, i) => (op === 0 ? this.#put(i) : this.#get(i)),
      ...(options.profile ? { profile: options.profile } : {}),
    });
  }

  start(): void {
    if (this.spec.client.balance === 'leader') this.#firstDiscovery = this.#discoverLeader();
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
    // the same key and value on a second member: a put retried after an unclear failure is idempotent
    await this.#send(i, (client) => client.put(key).value(value).exec());
    this.#acked.set(key, value);
    this.#ackLog.write(JSON.stringify({ key, value }) + '\n');
    return true;
  }

  async #get(i: number): Promise<boolean> {
    // read a key that an earlier put may have written; a missing key is still a successful read
    const key = `${this.#prefix}${String(Math.max(0, i - 1)).padStart(8, '0')}`;
    await this.#send(i, (client) => client.get(key).string());
    return true;
  }

  /** One request, on the member the balance picks, moving on to the next member while the deadline allows. */
  async #send(i: number, call: (client: Etcd3) => Promise<unknown>): Promise<void> {
    const deadline = Date.now() + this.spec.timeoutMs;
    if (this.#firstDiscovery) await this.#firstDiscovery;
    const count = this.#members.length;
    const first = this.spec.client.balance === 'leader' ? this.#leader : (this.#offset + i) % count;
    let lastError: unknown;
    for (let attempt = 0; attempt < count && Date.now() < deadline; attempt++) {
      const member = (first + attempt) % count;
      try {
        const channels = this.#members[member]!;
        await call(channels[i % channels.length]!);
        return;
      } catch (error) {
        lastError = error;
        if (this.spec.client.balance === 'leader') void this.#discoverLeader();
        // a deadline spent is spent; anything else (no leader, refused, reset) moves to the next member
        if (error instanceof GRPCDeadlineExceededError || !(error instanceof GRPCUnavailableError || isConnectionError(error))) break;
      }
    }
    throw lastError ?? new MoatError('no member left before the deadline');
  }

  /** Asks every member who leads; the leader in the highest raft term wins. One question at a time. */
  #discoverLeader(): Promise<void> {
    return this.#discovering ??= (async () => {
      const answers = await Promise.all(this.#members.map(([client]) => client!.maintenance.status({ deadline: Date.now() + 300 }).catch(() => undefined)));
      let best = -1n;
      for (const [member, status] of answers.entries()) {
        if (!status || status.leader !== status.header.member_id) continue;
        const term = BigInt(status.raftTerm);
        if (term > best) {
          best = term;
          this.#leader = member;
        }
      }
    })().finally(() => {
      this.#discovering = undefined;
    });
  }

  async stop(): Promise<void> {
    await this.#generator.stop();
    if (!this.#ackLog.writableEnded) await new Promise<void>((resolve) => this.#ackLog.end(resolve));
  }

  series(): LoadPoint[] {
    return statsOf(ETCD_KV_OPS, this.#generator.records).series(this.spec.name, ETCD_KV_OPS);
  }

  /** Reads every key back (linearizable) and compares with the acknowledged log. */
  async result(): Promise<LoadResult> {
    const stats = statsOf(ETCD_KV_OPS, this.#generator.records);
    const result: LoadResult = { ...resultOf(this.spec, stats, 0, this.#generator.startMs), ackedWrites: this.#acked.size };
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
        return await this.#readBack.getAll().prefix(this.#prefix).options({ deadline: Date.now() + 10_000 }).strings();
      } catch (error) {
        if (Date.now() > deadline) throw error;
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  }

  close(): void {
    for (const channels of this.#members) for (const client of channels) client.close();
    this.#readBack.close();
  }
}

/** etcd's WithRequireLeader: a member that has no leader refuses the request at once. */
const requireLeader: Interceptor = (options, nextCall) => new InterceptingCall(nextCall(options), {
  start(metadata, listener, next) {
    metadata.set('hasleader', 'true');
    next(metadata, listener);
  },
});

/** A failure to reach the member at all (refused, reset, no route), as opposed to an answer from it. */
function isConnectionError(error: unknown): boolean {
  return /ECONNREFUSED|ECONNRESET|EHOSTUNREACH|ENETUNREACH|No connection established|Connection dropped/i.test(errorMessage(error));
}

