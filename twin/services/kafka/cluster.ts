import * as z from 'zod';
import type { ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { run } from '../../../core/exec.ts';
import { answersRequest } from '../../../core/probe.ts';
import { TwinError, errorMessage } from '../../../core/errors.ts';
import { sleep, waitFor } from '../../../core/units.ts';
import { spawnTracked, type ResourceLedger } from '../../../core/resources.ts';
import { memberNames } from '../../../core/scenario.ts';
import type { ScrapeTarget } from '../../../core/series.ts';
import type { TwinBackend } from '../../backends/types.ts';
import type { LeaderView, ServiceMember, ServiceObservation, TwinService } from '../types.ts';
import type { KafkaServiceSpec } from './spec.ts';

export const KAFKA_PORT = 9092;
export const KAFKA_CONTROLLER_PORT = 9093;

const HERE = dirname(fileURLToPath(import.meta.url));
const POM = join(HERE, 'pom.xml');
const AGENT_SOURCE = join(HERE, 'agent', 'MoatKafkaAgent.java');
/** log4j2's configuration for every Kafka JVM moat starts (quiet, to the process's own log) */
export const KAFKA_LOG4J = join(HERE, 'log4j2.properties');
const LOG4J = KAFKA_LOG4J;

export interface KafkaInstall {
  version: string;
  home: string;
  /** classpath of the broker jars */
  classpath: string;
  /** classpath of moat's agent (the jars plus its compiled classes) */
  agentClasspath: string;
}

/**
 * The cached Kafka install (scripts/install-kafka.sh puts the jars there), and moat's agent
 * compiled against it once per source version.
 */
export async function kafkaInstall(): Promise<KafkaInstall> {
  const version = /<kafka\.version>([^<]+)<\/kafka\.version>/.exec(readFileSync(POM, 'utf8'))?.[1];
  if (!version) throw new TwinError(`no <kafka.version> in ${POM}`);
  const home = join(process.env.MOAT_CACHE ?? join(homedir(), '.cache', 'moat'), `kafka-${version}`);
  if (!existsSync(join(home, '.complete'))) throw new TwinError(`Apache Kafka ${version} is not installed in ${home}: run scripts/install-kafka.sh (npm test and npm run demo do)`);
  const classpath = `${join(home, 'libs')}/*`;
  const source = readFileSync(AGENT_SOURCE);
  const agentDir = join(home, `agent-${createHash('sha256').update(source).digest('hex').slice(0, 12)}`);
  if (!existsSync(join(agentDir, 'MoatKafkaAgent.class'))) {
    const tmp = `${agentDir}.${process.pid}.tmp`;
    rmSync(tmp, { recursive: true, force: true });
    mkdirSync(tmp, { recursive: true });
    const result = await run('javac', ['-nowarn', '-Xlint:none', '-cp', classpath, '-d', tmp, AGENT_SOURCE], { allowFailure: true, timeoutMs: 120_000 });
    if (result.code !== 0) throw new TwinError(`could not compile moat's Kafka agent: ${result.stderr.trim().slice(0, 2000)}`);
    rmSync(agentDir, { recursive: true, force: true });
    renameSync(tmp, agentDir);
  }
  return { version, home, classpath, agentClasspath: `${classpath}:${agentDir}` };
}

/** A partition's leadership and replicas as the admin API reports them, with broker names. */
export interface PartitionState {
  topic: string;
  partition: number;
  /** member name of the leader, or null when the partition is offline */
  leader: string | null;
  replicas: string[];
  isr: string[];
}

export interface KafkaState {
  brokers: string[];
  /** member name of the active KRaft controller, or null */
  controller: string | null;
  controllerEpoch: number;
  partitions: PartitionState[];
}

/** The agent's answer to `describe`, checked as it comes in (it crosses a process boundary). */
const rawDescribe = z.looseObject({
  brokers: z.array(z.number()),
  controller: z.number(),
  controllerEpoch: z.number().optional(),
  partitions: z.array(z.looseObject({ topic: z.string(), partition: z.number(), leader: z.number(), replicas: z.array(z.number()), isr: z.array(z.number()) })),
});

/**
 * moat's long-running admin client (Kafka's own Java Admin API, in MoatKafkaAgent): one JSON
 * command per line, answered by id. It runs on the twin's gateway side, recorded in the ledger.
 */
export class KafkaAdmin {
  readonly #child: ChildProcess;
  readonly #pending = new Map<number, { resolve: (value: Record<string, unknown>) => void; reject: (error: Error) => void; timer: NodeJS.Timeout }>();
  #next = 1;
  #closed = false;

  constructor(install: KafkaInstall, bootstrap: string, ledger: ResourceLedger, logFile: string, name: string, runId: string) {
    this.#child = spawnTracked(ledger, { kind: 'process', name }, 'java', ['-Xms64m', '-Xmx256m', '-XX:+UseSerialGC', '-XX:TieredStopAtLevel=1', `-Dmoat.run=moat-${runId}`, `-Dlog4j2.configurationFile=${LOG4J}`, '-cp', install.agentClasspath, 'MoatKafkaAgent', 'admin', bootstrap], {
      stdio: ['pipe', 'pipe', 'pipe'],
    }).child;
    const log = createWriteStream(logFile, { flags: 'a' });
    this.#child.stderr!.on('data', (chunk: Buffer) => log.write(chunk));
    createInterface({ input: this.#child.stdout! }).on('line', (line) => {
      let reply: Record<string, unknown>;
      try {
        reply = JSON.parse(line) as Record<string, unknown>;
      } catch {
        return;
      }
      const pending = this.#pending.get(Number(reply.id));
      if (!pending) return;
      this.#pending.delete(Number(reply.id));
      clearTimeout(pending.timer);
      if (reply.ok) pending.resolve(reply);
      else pending.reject(new TwinError(String(reply.error)));
    });
    this.#child.on('exit', (code) => {
      log.end();
      for (const pending of this.#pending.values()) {
        clearTimeout(pending.timer);
        pending.reject(new TwinError(`the Kafka admin agent exited (${code}); see ${logFile}`));
      }
      this.#pending.clear();
      this.#closed = true;
    });
  }

  call(op: string, args: Record<string, unknown> = {}, timeoutMs = 5000): Promise<Record<string, unknown>> {
    if (this.#closed) return Promise.reject(new TwinError('the Kafka admin agent is not running'));
    const id = this.#next++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new TwinError(`${op} did not answer within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#pending.set(id, { resolve, reject, timer });
      this.#child.stdin!.write(JSON.stringify({ id, op, ...args }) + '\n');
    });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    const exited = new Promise<void>((resolve) => this.#child.once('exit', () => resolve()));
    this.#child.stdin!.end();
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), 3000);
    await exited;
    clearTimeout(timer);
  }
}


/**
 * Apache Kafka in KRaft mode, one broker-and-controller per netns host (static voters), from the
 * jars in the cache. Storage is formatted per run; topics come from the scenario.
 */
/**
 * A cluster id for this run: 16 random bytes in URL-safe base64, as Kafka's own `Uuid.randomUuid`
 * makes them, and like it never starting with `-` (one id in 64 would, and `kafka-storage format
 * -t -xyz...` then reads the id as an option: "argument --cluster-id/-t: expected one argument").
 */
export function kafkaClusterId(): string {
  for (;;) {
    const id = randomBytes(16).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}

export class KafkaCluster implements TwinService {
  readonly spec: KafkaServiceSpec;
  readonly members: ServiceMember[];
  readonly probePort = KAFKA_PORT;
  readonly clientPort = KAFKA_PORT;
  readonly leaderBased = true;
  /** KRaft elects a controller within a few of its election timeouts (1 s by default) */
  readonly leaderWaitMs = 10_000;
  readonly admin: KafkaAdmin;
  readonly install: KafkaInstall;
  readonly healthCheck = 'a Kafka ApiVersions request';
  readonly #network: TwinBackend;

  private constructor(spec: KafkaServiceSpec, members: ServiceMember[], network: TwinBackend, admin: KafkaAdmin, install: KafkaInstall) {
    this.spec = spec;
    this.members = members;
    this.#network = network;
    this.admin = admin;
    this.install = install;
  }

  /** `host:9092,…` for clients. */
  get bootstrap(): string {
    return this.members.map((m) => `${m.ip}:${KAFKA_PORT}`).join(',');
  }

  static async start(options: { spec: KafkaServiceSpec; backend: TwinBackend; dataDir: string; runId: string; ledger: ResourceLedger; logDir: string; readyTimeoutMs?: number }): Promise<KafkaCluster> {
    const { spec, backend: network, dataDir, runId } = options;
    const install = await kafkaInstall();
    const names = memberNames(spec);
    const voters = names.map((name, i) => `${i + 1}@${network.host(name).ip}:${KAFKA_CONTROLLER_PORT}`).join(',');
    const clusterId = kafkaClusterId();
    const prepared = names.map((name, i) => {
      const ip = network.host(name).ip;
      const dir = join(dataDir, name);
      mkdirSync(join(dir, 'data'), { recursive: true });
      const properties = join(dir, 'server.properties');
      writeFileSync(properties, serverProperties({ nodeId: i + 1, ip, voters, logDir: join(dir, 'data'), spec }));
      return { name, ip, properties };
    });
    // format every member's storage in one JVM each, in parallel
    await Promise.all(prepared.map(async (m) => {
      const result = await run('java', ['-Xmx128m', '-XX:TieredStopAtLevel=1', `-Dlog4j2.configurationFile=${LOG4J}`, '-cp', install.classpath, 'kafka.tools.StorageTool', 'format', '-t', clusterId, '-c', m.properties], { allowFailure: true, timeoutMs: 60_000 });
      if (result.code !== 0) throw new TwinError(`could not format Kafka storage for ${m.name}: ${(result.stderr || result.stdout).trim().slice(0, 1500)}`);
    }));
    const members = await Promise.all(prepared.map(async (m): Promise<ServiceMember> => {
      const args = [
        // small, steady JVMs: three brokers share the machine with the load and moat
        `-Xms${Math.min(256, spec.heapMb)}m`, `-Xmx${spec.heapMb}m`, '-XX:+UseSerialGC', '-XX:ActiveProcessorCount=1', '-XX:TieredStopAtLevel=1', '-XX:+ExitOnOutOfMemoryError',
        '-Djava.awt.headless=true', `-Dlog4j2.configurationFile=${LOG4J}`, `-Dmoat.run=moat-${runId}`,
        '-cp', install.classpath, 'kafka.Kafka', m.properties,
      ];
      return { name: m.name, ip: m.ip, process: await network.spawn(m.name, m.name, 'java', args), args };
    }));
    const admin = new KafkaAdmin(install, members.map((m) => `${m.ip}:${KAFKA_PORT}`).join(','), options.ledger, join(options.logDir, `${spec.name}-admin.log`), `${spec.name}-admin`, runId);
    const cluster = new KafkaCluster(spec, members, network, admin, install);
    try {
      await cluster.waitReady(options.readyTimeoutMs ?? 60_000);
      if (spec.topics.length > 0) {
        await admin.call('create', {
          topics: spec.topics.map((t) => ({ name: t.name, partitions: t.partitions, replicationFactor: t.replicationFactor, configs: { 'min.insync.replicas': String(t.minInsyncReplicas) } })),
        }, 20_000);
        await cluster.waitInSync(30_000);
      }
    } catch (error) {
      await admin.close();
      throw error;
    }
    return cluster;
  }

  member(name: string): ServiceMember {
    const member = this.members.find((m) => m.name === name);
    if (!member) throw new TwinError(`no Kafka member ${name} (members: ${this.members.map((m) => m.name).join(', ')})`);
    return member;
  }

  nodeName(id: number): string | null {
    return id >= 1 && id <= this.members.length ? this.members[id - 1]!.name : null;
  }

  nodeId(name: string): number {
    const index = this.members.findIndex((m) => m.name === name);
    if (index < 0) throw new TwinError(`no Kafka member ${name}`);
    return index + 1;
  }

  /** Brokers, the active controller and (with `partitions`) every partition's leader and ISR. */
  async state(options: { partitions?: boolean; timeoutMs?: number } = {}): Promise<KafkaState> {
    const raw = rawDescribe.parse(await this.admin.call('describe', options.partitions === false ? { topics: [] } : {}, options.timeoutMs ?? 5000));
    return {
      brokers: raw.brokers.map((id) => this.nodeName(id) ?? `id:${id}`).sort(),
      controller: raw.controller >= 0 ? this.nodeName(raw.controller) : null,
      controllerEpoch: raw.controllerEpoch ?? 0,
      partitions: raw.partitions.map((p) => ({
        topic: p.topic, partition: p.partition,
        leader: p.leader >= 0 ? this.nodeName(p.leader) : null,
        replicas: p.replicas.map((id) => this.nodeName(id) ?? `id:${id}`),
        isr: p.isr.map((id) => this.nodeName(id) ?? `id:${id}`),
      })),
    };
  }

  /** Waits until a controller is active and every broker is registered. */
  async waitReady(timeoutMs: number): Promise<void> {
    let last = 'no answer yet';
    await waitFor(`Kafka ${this.spec.name} ready`, timeoutMs, async () => {
      for (const member of this.members) {
        const exit = await Promise.race([member.process.exited, Promise.resolve(undefined)]);
        if (exit !== undefined) throw new TwinError(`${member.name} exited with ${exit} while starting (see ${member.process.logFile})`);
      }
      try {
        const state = await this.state({ partitions: false, timeoutMs: 5000 });
        if (state.controller !== null && state.brokers.length === this.members.length) return true;
        last = `controller ${state.controller ?? 'none'}, brokers registered: ${state.brokers.join(', ') || 'none'}`;
      } catch (error) {
        last = errorMessage(error);
      }
      return undefined;
    }).catch((error: unknown) => {
      if (error instanceof TwinError) throw error; // a broker exited; a timeout is reported below
      throw new TwinError(`Kafka ${this.spec.name} not ready after ${timeoutMs} ms (last: ${last})`);
    });
  }

  /** Waits until every partition of the scenario's topics has a leader and a full ISR. */
  async waitInSync(timeoutMs: number): Promise<void> {
    let last = 'no answer yet';
    await waitFor(`Kafka ${this.spec.name} in sync`, timeoutMs, async () => {
      try {
        const state = await this.state();
        const expected = this.spec.topics.reduce((n, t) => n + t.partitions, 0);
        const lagging = state.partitions.filter((p) => p.leader === null || p.isr.length < p.replicas.length);
        if (state.partitions.length >= expected && lagging.length === 0) return true;
        last = `${state.partitions.length}/${expected} partitions, not in sync: ${lagging.slice(0, 5).map((p) => `${p.topic}/${p.partition} leader ${p.leader ?? 'none'} isr [${p.isr.join(',')}]`).join('; ')}`;
      } catch (error) {
        last = errorMessage(error);
      }
      return undefined;
    }).catch(() => {
      throw new TwinError(`Kafka ${this.spec.name}: partitions not in sync after ${timeoutMs} ms (last: ${last})`);
    });
  }

  /** The active KRaft controller, as a leader view (each registered broker is "reachable"). */
  async leader(timeoutMs = 1000): Promise<LeaderView> {
    try {
      const state = await this.state({ partitions: false, timeoutMs: Math.max(timeoutMs, 500) });
      const views = this.members.map((m) => ({
        member: m.name, reachable: state.brokers.includes(m.name), raftTerm: state.controllerEpoch,
        ...(state.controller ? { leader: state.controller } : {}),
      }));
      return { leader: state.controller, term: state.controllerEpoch, views, agreed: state.controller !== null && views.every((v) => v.reachable) };
    } catch (error) {
      return { leader: null, term: 0, views: this.members.map((m) => ({ member: m.name, reachable: false, error: errorMessage(error) })), agreed: false };
    }
  }

  /** Whether the broker answers a Kafka ApiVersions request (a paused JVM does not). */
  healthy(name: string, timeoutMs = 500): Promise<boolean> {
    return kafkaAnswers(this.member(name).ip, KAFKA_PORT, timeoutMs);
  }

  /** Starts a killed broker again from its data; resolves once it is registered again. */
  async restartMember(name: string, timeoutMs = 60_000): Promise<void> {
    const member = this.member(name);
    const exit = await Promise.race([member.process.exited, Promise.resolve(undefined)]);
    if (exit === undefined) throw new TwinError(`${name} is still running (pid ${member.process.pid}); stop it before a restart`);
    member.process = await this.#network.spawn(name, name, 'java', member.args);
    let last = 'not registered yet';
    await waitFor(`${name} registered after its restart`, timeoutMs, async () => {
      const died = await Promise.race([member.process.exited, Promise.resolve(undefined)]);
      if (died !== undefined) throw new TwinError(`${name} exited with ${died} after its restart (see ${member.process.logFile})`);
      try {
        const state = await this.state({ partitions: false });
        if (state.brokers.includes(name) && await this.healthy(name, 1000)) return true;
        last = `registered brokers: ${state.brokers.join(', ')}`;
      } catch (error) {
        last = errorMessage(error);
      }
      return undefined;
    }).catch((error: unknown) => {
      if (error instanceof TwinError) throw error;
      throw new TwinError(`${name} not back ${timeoutMs} ms after its restart (last: ${last})`);
    });
  }

  /**
   * Polls the admin API every interval: partition leader changes (also as timeline events), ISR
   * shrinks and expands, under-replicated and offline partitions, controller changes.
   */
  observe(observation: ServiceObservation): () => Promise<void> {
    const { store, now, intervalMs } = observation;
    const labels = { service: this.spec.name };
    let stopped = false;
    let previous: KafkaState | undefined;
    const loop = (async () => {
      while (!stopped) {
        const started = performance.now();
        try {
          const state = await this.state({ timeoutMs: Math.max(1000, intervalMs) });
          const t = Math.round(now());
          let leaderChanges = 0;
          let shrinks = 0;
          let expands = 0;
          const before = new Map(previous?.partitions.map((p) => [`${p.topic}/${p.partition}`, p]) ?? []);
          for (const p of state.partitions) {
            const old = before.get(`${p.topic}/${p.partition}`);
            if (!old) continue;
            if (old.leader !== p.leader) {
              leaderChanges++;
              observation.leaderChange({ service: this.spec.name, partition: `${p.topic}/${p.partition}`, from: old.leader, to: p.leader });
            }
            shrinks += old.isr.filter((m) => !p.isr.includes(m)).length;
            expands += p.isr.filter((m) => !old.isr.includes(m)).length;
          }
          if (previous) {
            store.append('kafka_partition_leader_changes', labels, t, leaderChanges);
            store.append('kafka_isr_shrinks', labels, t, shrinks);
            store.append('kafka_isr_expands', labels, t, expands);
            store.append('kafka_controller_changes', labels, t, previous.controller !== state.controller ? 1 : 0);
          }
          store.append('kafka_under_replicated_partitions', labels, t, state.partitions.filter((p) => p.leader !== null && p.isr.length < p.replicas.length).length);
          store.append('kafka_offline_partitions', labels, t, state.partitions.filter((p) => p.leader === null).length);
          store.append('kafka_brokers_registered', labels, t, state.brokers.length);
          store.append('kafka_active_controller', labels, t, state.controller ? this.nodeId(state.controller) : 0);
          previous = state;
        } catch {
          // an unanswered poll leaves a gap; the leader poll records the outage itself
        }
        const wait = intervalMs - (performance.now() - started);
        if (wait > 0 && !stopped) await sleep(wait);
      }
    })();
    return async () => {
      stopped = true;
      await loop;
    };
  }

  scrapeTargets(): ScrapeTarget[] {
    return [];
  }

  async stop(): Promise<void> {
    await this.admin.close();
    await Promise.all(this.members.map((m) => m.process.stop(2000)));
  }
}

function serverProperties(options: { nodeId: number; ip: string; voters: string; logDir: string; spec: KafkaServiceSpec }): string {
  const { nodeId, ip, voters, logDir, spec } = options;
  const rf = Math.min(3, spec.replicas);
  return [
    '# written by moat for one twin run',
    'process.roles=broker,controller',
    `node.id=${nodeId}`,
    `controller.quorum.voters=${voters}`,
    `listeners=PLAINTEXT://${ip}:${KAFKA_PORT},CONTROLLER://${ip}:${KAFKA_CONTROLLER_PORT}`,
    `advertised.listeners=PLAINTEXT://${ip}:${KAFKA_PORT}`,
    'controller.listener.names=CONTROLLER',
    'inter.broker.listener.name=PLAINTEXT',
    'listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
    `log.dirs=${logDir}`,
    'num.partitions=1',
    `default.replication.factor=${rf}`,
    `min.insync.replicas=${Math.min(2, rf)}`,
    `offsets.topic.replication.factor=${rf}`,
    'offsets.topic.num.partitions=3',
    `transaction.state.log.replication.factor=${rf}`,
    `transaction.state.log.min.isr=${Math.min(2, rf)}`,
    `share.coordinator.state.topic.replication.factor=${rf}`,
    `share.coordinator.state.topic.min.isr=${Math.min(2, rf)}`,
    'group.initial.rebalance.delay.ms=0',
    // moat moves leaders on purpose; the controller must not move them back on its own
    'auto.leader.rebalance.enable=false',
    `replica.lag.time.max.ms=${spec.replicaLagMs}`,
    'num.network.threads=1',
    'num.io.threads=2',
    'background.threads=2',
    'num.replica.fetchers=1',
    'log.segment.bytes=67108864',
    'auto.create.topics.enable=false',
    '',
  ].join('\n');
}

/**
 * Sends a Kafka ApiVersions v0 request and waits for any answer: a raw protocol check that a
 * stopped JVM fails even though the kernel still accepts its TCP connections.
 */
export function kafkaAnswers(ip: string, port: number, timeoutMs: number): Promise<boolean> {
  const clientId = Buffer.from('moat');
  // header: api_key 18 (ApiVersions), api_version 0, correlation_id 7, client_id (int16 length + bytes)
  const body = Buffer.alloc(2 + 2 + 4 + 2 + clientId.length);
  body.writeInt16BE(18, 0);
  body.writeInt16BE(0, 2);
  body.writeInt32BE(7, 4);
  body.writeInt16BE(clientId.length, 8);
  clientId.copy(body, 10);
  const size = Buffer.alloc(4);
  size.writeInt32BE(body.length, 0);
  return answersRequest(ip, port, Buffer.concat([size, body]), (received) => received.length >= 8 && received.readInt32BE(4) === 7, timeoutMs);
}
