import type { ChildProcess } from 'node:child_process';
import { createWriteStream, readFileSync, existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { spawnTracked, type ResourceLedger } from '../../core/resources.ts';
import { KAFKA_LOG4J, type KafkaInstall } from '../../twin/index.ts';
import type { RequestRecord } from '../open-model.ts';
import { loadSeries, statsOf, type LoadPoint } from '../summarize.ts';
import { rateProfile } from '../executor.ts';
import { LatencyHistogram } from '../stats.ts';
import type { Load, LoadResult } from '../types.ts';
import type { KafkaLoadSpec } from './spec.ts';

export const KAFKA_OPS = ['produce', 'consume'] as const;

const LOG4J = KAFKA_LOG4J;

/** What the agent reports after the read-back. */
interface AgentResult {
  acked: number;
  lost?: number;
  duplicated?: number;
  reordered?: number;
  indeterminateApplied?: number;
  lostSample?: string[];
  partitions?: { partition: number; acked: number; stored: number; lost: number; duplicated: number; reordered: number }[];
  sent: number;
  consumed: number;
  redelivered: number;
  ackedNotConsumed: number;
  readBackError?: string;
}

/**
 * Kafka load through Kafka's own Java clients (moat's agent, a separate JVM): an idempotent
 * acks=all producer at a fixed arrival rate, latency from each message's due time, and a consumer
 * group on the same topic (end-to-end latency, redeliveries, lag). After heal the agent reads
 * every partition back: lost, duplicated and reordered messages, per partition.
 */
export class KafkaLoad implements Load {
  readonly spec: KafkaLoadSpec;
  readonly #child: ChildProcess;
  readonly #requestsFile: string;
  readonly #lag: { t: number; v: number }[] = [];
  readonly #result: Promise<AgentResult | undefined>;
  readonly #exited: Promise<number>;
  #stopped = false;
  /** the requests file, read once after the agent has exited */
  #final: RequestRecord[] | undefined;

  constructor(options: { spec: KafkaLoadSpec; install: KafkaInstall; bootstrap: string; partitions: number; runId: string; clockZeroEpochMs: number; runDir: string; ledger: ResourceLedger }) {
    const { spec } = options;
    this.spec = spec;
    this.#requestsFile = join(options.runDir, `requests-${spec.name}.tsv`);
    const config = {
      bootstrap: options.bootstrap, topic: spec.topic, partitions: options.partitions, profile: rateProfile(spec.executor, spec.ratePerSec), timeoutMs: spec.timeoutMs,
      messageBytes: spec.messageBytes, clockZeroEpochMs: options.clockZeroEpochMs, tag: `${options.runId}-${spec.name}`,
      requestsFile: this.#requestsFile, ackFile: join(options.runDir, `acked-writes-${spec.name}.tsv`),
    };
    const name = `load-${spec.name}`;
    const started = spawnTracked(options.ledger, { kind: 'process', name }, 'java', ['-Xms128m', '-Xmx512m', '-XX:+UseSerialGC', '-XX:TieredStopAtLevel=1', `-Dmoat.run=moat-${options.runId}`, `-Dlog4j2.configurationFile=${LOG4J}`, '-cp', options.install.agentClasspath, 'MoatKafkaAgent', 'load', JSON.stringify(config)], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.#child = started.child;
    const log = createWriteStream(join(options.runDir, 'logs', `${name}.log`), { flags: 'a' });
    this.#child.stderr!.pipe(log);
    this.#exited = started.exited;
    this.#result = new Promise((resolve) => {
      createInterface({ input: this.#child.stdout! }).on('line', (line) => {
        let message: { type?: string; t?: number; lag?: number } & Partial<AgentResult>;
        try {
          message = JSON.parse(line);
        } catch {
          return;
        }
        if (message.type === 'lag' && typeof message.t === 'number' && typeof message.lag === 'number' && message.lag >= 0) this.#lag.push({ t: message.t, v: message.lag });
        if (message.type === 'result') resolve(message as AgentResult);
      });
      void this.#exited.then(() => resolve(undefined));
    });
  }

  /** The agent starts producing as soon as it runs. */
  start(): void {}

  /** Stops producing; the agent then lets the group catch up and reads every partition back. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    if (this.#child.exitCode === null) this.#child.stdin!.write('stop\n');
  }

  #records(): RequestRecord[] {
    if (this.#final) return this.#final;
    if (!existsSync(this.#requestsFile)) return [];
    const records: RequestRecord[] = [];
    for (const line of readFileSync(this.#requestsFile, 'utf8').split('\n')) {
      const [op, due, latency, ok, lag] = line.split('\t');
      if (ok === undefined) continue;
      records.push({ op: op === 'produce' ? 0 : 1, dueMs: Number(due), latencyMs: Number(latency), ok: ok === '1', lagMs: Number(lag ?? 0) || 0 });
    }
    // once the agent is gone the file is complete: series() and result() share one read
    if (this.#child.exitCode !== null || this.#child.signalCode !== null) this.#final = records;
    return records;
  }

  /** Per-second series with the same names as every load (`op` produce and consume), plus consumer lag. */
  series(): LoadPoint[] {
    const points = loadSeries(this.spec.name, KAFKA_OPS, this.#records());
    for (const { t, v } of this.#lag) points.push({ name: 'kafka_consumer_lag', labels: { load: this.spec.name }, t, v });
    return points;
  }

  async result(): Promise<LoadResult> {
    await this.stop();
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), 120_000);
    const agent = await this.#result;
    await this.#exited;
    clearTimeout(timer);
    const records = this.#records();
    const byOp: LoadResult['byOp'] = {};
    for (const [index, op] of KAFKA_OPS.entries()) {
      const list = records.filter((r) => r.op === index);
      byOp[op] = { requests: list.length, errors: list.filter((r) => !r.ok).length, latency: LatencyHistogram.of(list.map((r) => r.latencyMs)) };
    }
    const produce = byOp.produce!;
    // the schedule is the producer's: consumed messages have no due time of their own
    const produced = statsOf(KAFKA_OPS, records.filter((r) => r.op === 0));
    const result: LoadResult = {
      name: this.spec.name,
      requests: produce.requests,
      errors: produce.errors,
      availability: produce.requests === 0 ? 1 : 1 - produce.errors / produce.requests,
      byOp,
      ackedWrites: agent?.acked ?? 0,
      lostWrites: agent?.lost ?? 0,
      lostKeys: agent?.lostSample ?? [],
      indeterminateApplied: agent?.indeterminateApplied ?? 0,
      scheduleLagP99Ms: produced.totals().lag.percentile(99) || 0,
      generator: produced.generator(0),
    };
    if (!agent) {
      result.readBackError = 'the Kafka load agent exited without a result (see its log)';
      return result;
    }
    if (agent.readBackError) {
      result.readBackError = agent.readBackError;
      result.lostWrites = agent.acked;
      return result;
    }
    result.messages = {
      duplicated: agent.duplicated ?? 0,
      reordered: agent.reordered ?? 0,
      consumed: agent.consumed,
      redelivered: agent.redelivered,
      ackedNotConsumed: agent.ackedNotConsumed,
      partitions: agent.partitions ?? [],
    };
    return result;
  }

  close(): void {
    if (this.#child.exitCode === null && this.#child.signalCode === null) this.#child.kill('SIGKILL');
  }
}
