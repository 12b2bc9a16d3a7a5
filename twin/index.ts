import { mkdirSync, existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { TwinError, errorMessage } from '../core/errors.ts';
import { dirHandler, processHandler, type ResourceHandlers, type ResourceLedger } from '../core/resources.ts';
import { linkHandler, netnsHandler, nftTableHandler } from './backends/netns/resources.ts';
import type { Scenario } from '../runner/scenario/index.ts';
import { NetnsNetwork, type NetnsHost } from './backends/netns/network.ts';
import { EtcdCluster, memberNames } from './services/etcd.ts';
import { KafkaCluster } from './services/kafka.ts';
import { RedisService } from './services/redis.ts';
import { AppService } from './services/app.ts';
import type { TwinService } from './services/types.ts';

export { EtcdCluster, memberNames, ETCD_CLIENT_PORT, ETCD_PEER_PORT } from './services/etcd.ts';
export { KafkaCluster, KAFKA_PORT } from './services/kafka.ts';
export { RedisService, REDIS_PORT } from './services/redis.ts';
export { AppService, OTLP_PORT, envReferences } from './services/app.ts';
export type { LeaderView, MemberView, TwinService, ServiceMember } from './services/types.ts';
export type { NetnsHost, ManagedProcess } from './backends/netns/network.ts';
export { NetnsNetwork } from './backends/netns/network.ts';

/** How `moat cleanup` checks and undoes each kind of resource a twin's run records. */
export const RESOURCE_HANDLERS: ResourceHandlers = {
  process: processHandler,
  dir: dirHandler,
  netns: netnsHandler,
  link: linkHandler,
  'nft-table': nftTableHandler,
};

/**
 * A running replica of the scenario's topology. Dispose of it (or call `down()`) to stop every
 * process and remove every namespace it made; both are idempotent.
 */
export interface StartedTwin extends AsyncDisposable {
  readonly runId: string;
  readonly network: NetnsNetwork;
  readonly services: ReadonlyMap<string, TwinService>;
  /** Twin hosts by name, e.g. `etcd-1`. */
  readonly hosts: ReadonlyMap<string, NetnsHost>;
  service(name: string): TwinService;
  /** The etcd service of that name (a TwinError when it is not etcd). */
  etcd(name: string): EtcdCluster;
  /** The Kafka service of that name (a TwinError when it is not Kafka). */
  kafka(name: string): KafkaCluster;
  /** The app service of that name (a TwinError when it is not an app). */
  app(name: string): AppService;
  /** A port that host listens on, for probe connections (etcd: the peer port; Kafka: the broker port). */
  probePort(host: string): number;
  down(): Promise<void>;
}

export interface TwinOptions {
  runId: string;
  ledger: ResourceLedger;
  /** Where process logs go (the run folder's `logs/`). */
  logDir: string;
  readyTimeoutMs?: number;
}

/** Builds the netns twin: one namespace per member, then each service's processes, then waits for readiness. */
export async function twinUp(twin: Scenario['twin'], options: TwinOptions): Promise<StartedTwin> {
  mkdirSync(options.logDir, { recursive: true });
  const hostNames = twin.services.flatMap((spec) => memberNames(spec));
  const network = await NetnsNetwork.create({ runId: options.runId, ledger: options.ledger, logDir: options.logDir, hostNames });
  // Member data lives on tmpfs when there is one: a disposable twin, and a steady fsync baseline.
  const dataRoot = join(existsSync('/dev/shm') ? '/dev/shm' : '/tmp', `moat-${options.runId}`);
  const dataHandle = options.ledger.add({ kind: 'dir', path: dataRoot });
  try {
    // exclusive and private: a folder (or a link) someone made under this name beforehand is never used
    mkdirSync(dataRoot, { mode: 0o700 });
  } catch (error) {
    dataHandle.remove();
    await network.destroy();
    throw new TwinError(`cannot create the run's data folder ${dataRoot}: ${(error as NodeJS.ErrnoException).code === 'EEXIST' ? 'it exists already, and moat uses only folders it made itself' : errorMessage(error)}`);
  }
  const services = new Map<string, TwinService>();
  let downed = false;
  const down = async () => {
    if (downed) return;
    downed = true;
    // services first (the Kafka admin agent runs outside the namespaces), then the network
    await Promise.all([...services.values()].map((s) => s.stop().catch(() => undefined)));
    await network.destroy();
    rmSync(dataRoot, { recursive: true, force: true });
    options.ledger.remove(`dir:${dataRoot}`);
  };
  try {
    const timeout = options.readyTimeoutMs === undefined ? {} : { readyTimeoutMs: options.readyTimeoutMs };
    // dependencies first, in parallel; then the apps, whose proxies point at them
    await Promise.all(twin.services.map(async (spec) => {
      const common = { network, runId: options.runId, dataDir: join(dataRoot, spec.name), ...timeout };
      if (spec.kind === 'kafka') services.set(spec.name, await KafkaCluster.start({ ...common, spec, ledger: options.ledger, logDir: options.logDir }));
      else if (spec.kind === 'etcd') services.set(spec.name, await EtcdCluster.start({ ...common, spec }));
      else if (spec.kind === 'redis') services.set(spec.name, await RedisService.start({ spec, network, ...timeout }));
    }));
    const upstreams = new Map(services);
    await Promise.all(twin.services.map(async (spec) => {
      if (spec.kind === 'app') services.set(spec.name, await AppService.start({ spec, network, upstreams, ...timeout }));
    }));
  } catch (error) {
    await down();
    throw error instanceof TwinError ? error : new TwinError(`twin did not start: ${(error as Error).message}`, { cause: error });
  }
  function serviceNamed(name: string): TwinService {
    const service = services.get(name);
    if (!service) throw new TwinError(`no service ${JSON.stringify(name)} in the twin (services: ${[...services.keys()].join(', ')})`);
    return service;
  }
  return {
    runId: options.runId,
    network,
    services,
    hosts: network.hosts,
    service: serviceNamed,
    etcd(name) {
      const service = serviceNamed(name);
      if (!(service instanceof EtcdCluster)) throw new TwinError(`${name} is ${service.spec.kind}, not etcd`);
      return service;
    },
    kafka(name) {
      const service = serviceNamed(name);
      if (!(service instanceof KafkaCluster)) throw new TwinError(`${name} is ${service.spec.kind}, not Kafka`);
      return service;
    },
    app(name) {
      const service = serviceNamed(name);
      if (!(service instanceof AppService)) throw new TwinError(`${name} is ${service.spec.kind}, not an app`);
      return service;
    },
    probePort(host) {
      const service = [...services.values()].find((s) => s.members.some((m) => m.name === host));
      if (!service) throw new TwinError(`no service has a member ${host}`);
      return service.probePort;
    },
    down,
    [Symbol.asyncDispose]: down,
  };
}
