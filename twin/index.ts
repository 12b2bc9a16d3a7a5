import { mkdirSync, existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { TwinError, errorMessage } from '../core/errors.ts';
import { dirHandler, processHandler, type ResourceHandlers, type ResourceLedger } from '../core/resources.ts';
import { memberNames, type Scenario } from '../core/scenario.ts';
import { NetnsNetwork } from './backends/netns/network.ts';
import { linkHandler, netnsHandler, nftTableHandler } from './backends/netns/resources.ts';
import { cgroupHandler } from './backends/netns/cgroups.ts';
import { containerHandler, networkHandler } from './backends/containers/resources.ts';
import { ContainersBackend } from './backends/containers/backend.ts';
import { buildImage, imageExists, twinImages } from './backends/containers/images.ts';
import type { ResourceLimits, TwinBackend, TwinHost } from './backends/types.ts';
import { serviceKindOf } from './services/registry.ts';
import type { TwinService } from './services/types.ts';

export { SERVICE_KINDS, serviceKindOf } from './services/registry.ts';
export { EtcdCluster, ETCD_CLIENT_PORT, ETCD_PEER_PORT, ETCD_METRICS, type EtcdMember, type EtcdServiceSpec } from './services/etcd/index.ts';
export { KafkaCluster, KafkaAdmin, KAFKA_LOG4J, KAFKA_PORT, kafkaInstall, type KafkaInstall, type KafkaState, type KafkaServiceSpec, type KafkaTopicSpec } from './services/kafka/index.ts';
export { RedisService, REDIS_PORT, redisPing, type RedisServiceSpec } from './services/redis/index.ts';
export { AppService, APP_METRICS, TOXIPROXY_VERSION, envReferences, resolveEnv, ledgerBinary, toxiproxyServer, type Link, type AppServiceSpec, EtcdConfigKey, configChanges, mergeConfig, ledgerConfigPatchSchema, type ConfigValue } from './services/app/index.ts';
export type { LeaderView, MemberView, TwinService, ServiceMember, ServiceKind, ServiceObservation, ServiceStartContext } from './services/types.ts';
export type { TwinBackend, TwinHost, ManagedProcess, ProcessState, PartitionPlan, Cut, HostResources, ResourceLimits, ResourceUsage } from './backends/types.ts';
export { resolveTarget, type ResolvedTarget } from './targets.ts';
export { baseImage, kindImage } from './backends/containers/images.ts';
export { engineReport } from './backends/containers/engine.ts';

/** How `moat cleanup` checks and undoes each kind of resource a twin's run records. */
export const RESOURCE_HANDLERS: ResourceHandlers = {
  process: processHandler,
  dir: dirHandler,
  netns: netnsHandler,
  link: linkHandler,
  'nft-table': nftTableHandler,
  cgroup: cgroupHandler,
  container: containerHandler,
  network: networkHandler,
};

/**
 * A running replica of the scenario's topology. Dispose of it (or call `down()`) to stop every
 * process and remove everything it made; both are idempotent. Services, faults and the run loop
 * reach hosts and processes through `backend`, whichever backend built it.
 */
export interface StartedTwin extends AsyncDisposable {
  readonly runId: string;
  readonly backend: TwinBackend;
  readonly services: ReadonlyMap<string, TwinService>;
  /** Twin hosts by name, e.g. `etcd-1`. */
  readonly hosts: ReadonlyMap<string, TwinHost>;
  service(name: string): TwinService;
  /** The service of that name as the class it must be (a TwinError otherwise), e.g. `of('etcd', EtcdCluster)`. */
  of<T extends TwinService>(name: string, type: { readonly prototype: T; readonly name: string }): T;
  /** The service a host belongs to. */
  serviceOf(host: string): TwinService;
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
  /** progress lines while images are built (containers backend) */
  log?: (line: string) => void;
}

/** Builds the twin: one host per member, then each service's processes (apps last), then waits for readiness. */
export async function twinUp(twin: Scenario['twin'], options: TwinOptions): Promise<StartedTwin> {
  mkdirSync(options.logDir, { recursive: true });
  const hostNames = twin.services.flatMap((spec) => memberNames(spec));
  // cgroups for the members of services with limits, or that a resource fault will limit
  const limited = new Set([...twin.services.filter((s) => s.resources).map((s) => s.name), ...(twin.limited ?? [])]);
  const limits = new Map(twin.services.filter((s) => limited.has(s.name)).flatMap((spec) => memberNames(spec).map((host) => [host, spec.resources ?? {}] as const)));
  // Member data lives on tmpfs when there is one: a disposable twin, and a steady fsync baseline.
  const dataRoot = join(existsSync('/dev/shm') ? '/dev/shm' : '/tmp', `moat-${options.runId}`);
  const backend = twin.backend === 'containers'
    ? await containersBackend(twin, options, hostNames, limits, dataRoot)
    : await NetnsNetwork.create({ runId: options.runId, ledger: options.ledger, logDir: options.logDir, hostNames, limits });
  const dataHandle = options.ledger.add({ kind: 'dir', path: dataRoot });
  try {
    // exclusive and private: a folder (or a link) someone made under this name beforehand is never used
    mkdirSync(dataRoot, { mode: 0o700 });
  } catch (error) {
    dataHandle.remove();
    await backend.destroy();
    throw new TwinError(`cannot create the run's data folder ${dataRoot}: ${(error as NodeJS.ErrnoException).code === 'EEXIST' ? 'it exists already, and moat uses only folders it made itself' : errorMessage(error)}`);
  }
  const services = new Map<string, TwinService>();
  let downed = false;
  const down = async () => {
    if (downed) return;
    downed = true;
    // services first (agents may run outside the hosts), then the network
    await Promise.all([...services.values()].map((s) => s.stop().catch(() => undefined)));
    await backend.destroy();
    rmSync(dataRoot, { recursive: true, force: true });
    dataHandle.remove();
  };
  try {
    const start = async (spec: Scenario['twin']['services'][number]) => {
      const started = await serviceKindOf(spec).start(spec, {
        backend, runId: options.runId, ledger: options.ledger, logDir: options.logDir, dataDir: join(dataRoot, spec.name), started: new Map(services),
        ...(options.readyTimeoutMs === undefined ? {} : { readyTimeoutMs: options.readyTimeoutMs }),
      });
      services.set(spec.name, started);
    };
    // dependencies first, in parallel; then the services that link to them
    await Promise.all(twin.services.filter((s) => !serviceKindOf(s).startsLast).map(start));
    await Promise.all(twin.services.filter((s) => serviceKindOf(s).startsLast).map(start));
  } catch (error) {
    await down();
    throw error instanceof TwinError ? error : new TwinError(`twin did not start: ${errorMessage(error)}`, { cause: error });
  }
  function serviceNamed(name: string): TwinService {
    const service = services.get(name);
    if (!service) throw new TwinError(`no service ${JSON.stringify(name)} in the twin (services: ${[...services.keys()].join(', ')})`);
    return service;
  }
  function serviceOf(host: string): TwinService {
    const service = [...services.values()].find((s) => s.members.some((m) => m.name === host));
    if (!service) throw new TwinError(`no service has a member ${host}`);
    return service;
  }
  return {
    runId: options.runId,
    backend,
    services,
    hosts: backend.hosts,
    service: serviceNamed,
    of(name, type) {
      const service = serviceNamed(name);
      if (!Object.prototype.isPrototypeOf.call(type.prototype, service)) throw new TwinError(`${name} is ${service.spec.kind}, not what this needs (${type.name})`);
      return service as typeof type.prototype;
    },
    serviceOf,
    probePort: (host) => serviceOf(host).probePort,
    down,
    [Symbol.asyncDispose]: down,
  };
}

/** The containers backend: the images the services need (built once, then cached by the engine), then the pods. */
async function containersBackend(twin: Scenario['twin'], options: TwinOptions, hostNames: string[], limits: ReadonlyMap<string, ResourceLimits>, dataRoot: string): Promise<TwinBackend> {
  const recipes = (await Promise.all(twin.services.map((spec) => serviceKindOf(spec).images(spec)))).flat();
  const images = await twinImages(recipes, options.ledger, options.log);
  await userImages(twin, options);
  return ContainersBackend.create({ runId: options.runId, ledger: options.ledger, logDir: options.logDir, hostNames, limits, images: images.programs, base: images.base, dataRoot });
}

/** A user's image must be in the engine (docker load), or built here from its Dockerfile folder. */
async function userImages(twin: Scenario['twin'], options: TwinOptions): Promise<void> {
  for (const spec of twin.services) {
    if (spec.kind !== 'app' || !spec.image) continue;
    if (spec.build) {
      options.log?.(`building ${spec.image} from ${spec.build}`);
      await buildImage(spec.build, spec.image, `${spec.name}'s image from ${spec.build}`);
    }
    if (!(await imageExists(spec.image))) {
      throw new TwinError(`${spec.name}: the image ${spec.image} is not in the engine (load it with docker load, or give build: a folder with its Dockerfile)`);
    }
  }
}
