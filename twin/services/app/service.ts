import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Toxiproxy } from 'toxiproxy-node-client';
import { run, which } from '../../../core/exec.ts';
import { TwinError, errorMessage } from '../../../core/errors.ts';
import { waitFor } from '../../../core/units.ts';
import type { ServiceSpec } from '../../../core/scenario.ts';
import { IMAGE_COMMAND } from '../../backends/types.ts';
import type { ScrapeTarget } from '../../../core/series.ts';
import type { TwinBackend } from '../../backends/types.ts';
import type { LeaderView, ServiceMember, ServiceObservation, TwinService } from '../types.ts';
import { configChanges, EtcdConfigKey, type ConfigValue } from './config-key.ts';
import type { AppServiceSpec } from './spec.ts';

export const TOXIPROXY_VERSION = 'v2.12.0';
export const TOXIPROXY_API_PORT = 8474;

const LEDGER_SOURCE = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'apps', 'ledger');

function cacheDir(): string {
  return process.env.MOAT_CACHE ?? join(homedir(), '.cache', 'moat');
}

/** The Toxiproxy server built by scripts/install-tools.sh (`go install` at a pinned version). */
export function toxiproxyServer(): string {
  const path = join(cacheDir(), `toxiproxy-${TOXIPROXY_VERSION}`, 'toxiproxy-server');
  if (!existsSync(path)) throw new TwinError(`Toxiproxy ${TOXIPROXY_VERSION} is not installed at ${path}: run scripts/install-tools.sh (npm test and npm run demo do)`);
  return path;
}

/** Builds moat's Go service under test (twin/apps/ledger) once per source version, into the cache. */
export async function ledgerBinary(): Promise<string> {
  const hash = createHash('sha256');
  for (const file of readdirSync(LEDGER_SOURCE).filter((f) => /\.(go|mod|sum)$/.test(f)).sort()) hash.update(file).update(readFileSync(join(LEDGER_SOURCE, file)));
  const dir = join(cacheDir(), `ledger-${hash.digest('hex').slice(0, 12)}`);
  const binary = join(dir, 'ledger');
  if (existsSync(binary)) return binary;
  const go = (await which('go')) ?? (existsSync('/usr/local/go/bin/go') ? '/usr/local/go/bin/go' : undefined);
  if (!go) throw new TwinError('the Go toolchain is needed to build the ledger service (twin/apps/ledger): put go on PATH');
  const tmp = `${dir}.${process.pid}.tmp`;
  mkdirSync(tmp, { recursive: true });
  const result = await run(go, ['build', '-o', join(tmp, 'ledger'), '.'], { allowFailure: true, timeoutMs: 600_000, cwd: LEDGER_SOURCE });
  if (result.code !== 0) throw new TwinError(`could not build the ledger service: ${result.stderr.trim().slice(0, 2000)}`);
  rmSync(dir, { recursive: true, force: true });
  renameSync(tmp, dir);
  return binary;
}

/** What moat scrapes from an app's /metrics (moat's ledger names; a user's app may expose any of them). */
export const APP_METRICS = {
  gauges: ['ledger_breaker_state', 'go_memstats_heap_inuse_bytes', 'go_goroutines'],
  counters: [{ name: 'ledger_requests_total', by: ['route', 'code'] }, { name: 'ledger_shed_total', by: ['dependency'] }, { name: 'ledger_dependency_errors_total', by: ['dependency'] }],
  histograms: [{ name: 'ledger_request_duration_seconds', by: ['route'] }, { name: 'ledger_dependency_duration_seconds', by: ['dependency'] }],
} as const;

/** `${NAME}` in an env value, to be replaced by moat's own environment variable NAME. */
const ENV_REFERENCE = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

/** The environment variables an app's env values refer to with `${NAME}`. */
export function envReferences(env: Readonly<Record<string, string>>): string[] {
  return [...new Set(Object.values(env).flatMap((value) => [...value.matchAll(ENV_REFERENCE)].map((m) => m[1]!)))];
}

/** Env values with every `${NAME}` replaced from moat's environment; a name that is not set is an error. */
export function resolveEnv(env: Readonly<Record<string, string>>, from: NodeJS.ProcessEnv = process.env): Record<string, string> {
  return Object.fromEntries(Object.entries(env).map(([key, value]) => [key, value.replace(ENV_REFERENCE, (_, name: string) => {
    const found = from[name];
    if (found === undefined) throw new TwinError(`env ${key} refers to \${${name}}, which is not set in moat's environment`);
    return found;
  })]));
}

/** One proxied connection from an app to one member of a service it depends on. */
export interface Link {
  /** the dependency service, e.g. `redis`, and its kind */
  service: string;
  kind: ServiceSpec['kind'];
  member: string;
  /** Toxiproxy proxy name, e.g. `ledger-redis-1` */
  proxy: string;
  /** where the app connects, inside its namespace */
  listen: string;
  upstream: string;
}

/**
 * A service under test: moat's Go ledger (`app: ledger`) or the user's own binary (`command`), on
 * its own netns host. Every link it declares goes through a Toxiproxy server in its namespace, so
 * toxics sit between the app and its dependencies.
 */
export class AppService implements TwinService {
  readonly spec: AppServiceSpec;
  readonly members: ServiceMember[];
  readonly probePort: number;
  readonly clientPort: number;
  readonly leaderBased = false;
  readonly leaderWaitMs = 0;
  readonly links: Link[];
  readonly toxiproxy: Toxiproxy | undefined;
  readonly healthCheck: string;
  /** where the app reads its configuration in etcd (the ledger); a user's binary reads its own */
  readonly config: EtcdConfigKey | undefined;
  readonly #network: TwinBackend;

  private constructor(spec: AppServiceSpec, members: ServiceMember[], network: TwinBackend, links: Link[], toxiproxy: Toxiproxy | undefined, config: EtcdConfigKey | undefined) {
    this.config = config;
    this.healthCheck = spec.health;
    this.spec = spec;
    this.members = members;
    this.probePort = spec.port;
    this.clientPort = spec.port;
    this.#network = network;
    this.links = links;
    this.toxiproxy = toxiproxy;
  }

  get url(): string {
    return `http://${this.members[0]!.ip}:${this.spec.port}`;
  }

  /**
   * Starts Toxiproxy with one proxy per linked member, writes the app's config, starts the app
   * with its dependencies' proxy addresses in its environment, and waits for its health check.
   */
  static async start(options: { spec: AppServiceSpec; backend: TwinBackend; upstreams: ReadonlyMap<string, TwinService>; readyTimeoutMs?: number }): Promise<AppService> {
    const { spec, backend: network } = options;
    const host = `${spec.name}-1`;
    const ip = network.host(host).ip;
    const links: Link[] = [];
    let toxiproxy: Toxiproxy | undefined;
    if (spec.links.length > 0) {
      const server = toxiproxyServer();
      const proxyProcess = await network.spawn(host, `${spec.name}-toxiproxy`, server, ['-host', ip, '-port', String(TOXIPROXY_API_PORT)]);
      toxiproxy = new Toxiproxy(`http://${ip}:${TOXIPROXY_API_PORT}`);
      const client = toxiproxy;
      await waitFor('toxiproxy answering', 10_000, async () => {
        const exit = await Promise.race([proxyProcess.exited, Promise.resolve(undefined)]);
        if (exit !== undefined) throw new TwinError(`toxiproxy exited with ${exit} (see ${proxyProcess.logFile})`);
        return client.getVersion().then(() => true, () => undefined);
      }, 50);
      let port = 21_000;
      for (const service of spec.links) {
        const upstream = options.upstreams.get(service);
        if (!upstream) throw new TwinError(`${spec.name} links to ${service}, which the twin does not have`);
        for (const member of upstream.members) {
          const link: Link = { service, kind: upstream.spec.kind, member: member.name, proxy: `${spec.name}-${member.name}`, listen: `127.0.0.1:${port++}`, upstream: `${member.ip}:${upstream.clientPort}` };
          await toxiproxy.createProxy({ name: link.proxy, listen: link.listen, upstream: link.upstream });
          links.push(link);
        }
      }
    }
    const linkEnv = Object.fromEntries(spec.links.map((service) => [`MOAT_LINK_${service.toUpperCase().replace(/-/g, '_')}`, links.filter((l) => l.service === service).map((l) => l.listen).join(',')]));
    const env: Record<string, string> = {
      ...linkEnv,
      OTEL_EXPORTER_OTLP_ENDPOINT: `http://${network.gateway}:${network.otlpPort}`,
      OTEL_SERVICE_NAME: spec.name,
      // `${VAR}` values are read from moat's environment here, and only here: the journal keeps `${VAR}`
      ...resolveEnv(spec.env),
    };
    let command: string[];
    let config: EtcdConfigKey | undefined;
    if (spec.app === 'ledger') {
      const redis = links.find((l) => l.kind === 'redis');
      const etcd = links.filter((l) => l.kind === 'etcd');
      if (!redis) throw new TwinError(`the ledger app needs a link to a redis service (links: ${spec.links.join(', ') || 'none'})`);
      if (etcd.length === 0) throw new TwinError(`the ledger app reads its config from etcd: link it to an etcd service (links: ${spec.links.join(', ')})`);
      env.LEDGER_ADDR = `:${spec.port}`;
      env.REDIS_ADDR = redis.listen;
      env.ETCD_ENDPOINTS = etcd.map((l) => `http://${l.listen}`).join(',');
      env.LEDGER_CONFIG_KEY = `/moat/${network.runId}/${spec.name}/config`;
      // the config goes straight to etcd (not through the proxies): the twin's set-up is not under test
      config = new EtcdConfigKey(env.LEDGER_CONFIG_KEY, etcd.map((l) => l.upstream));
      await config.write(spec.config);
      command = [await ledgerBinary()];
    } else if (spec.image) {
      // the user's image runs its own entrypoint; `command`, when given, is its CMD
      command = [`${IMAGE_COMMAND}${spec.image}`, ...(spec.command ?? [])];
    } else {
      command = spec.command!;
    }
    // the whole environment: moat's own is not passed on, and `${VAR}` values are read from it here
    const environment = { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', ...env };
    const [program, ...args] = command as [string, ...string[]];
    const member: ServiceMember = { name: host, ip, process: await network.spawn(host, host, program, args, environment), args: [program, ...args], env: environment };
    const service = new AppService(spec, [member], network, links, toxiproxy, config);
    await service.#waitHealthy(options.readyTimeoutMs ?? 20_000);
    return service;
  }

  member(name: string): ServiceMember {
    const member = this.members.find((m) => m.name === name);
    if (!member) throw new TwinError(`no ${this.spec.name} member ${name}`);
    return member;
  }

  async #waitHealthy(timeoutMs: number): Promise<void> {
    const member = this.members[0]!;
    let last = 'no answer yet';
    await waitFor(`${member.name} healthy`, timeoutMs, async () => {
      const exit = await Promise.race([member.process.exited, Promise.resolve(undefined)]);
      if (exit !== undefined) throw new TwinError(`${member.name} exited with ${exit} while starting (see ${member.process.logFile})`);
      try {
        const response = await fetch(`${this.url}${this.spec.health}`, { signal: AbortSignal.timeout(500) });
        if (response.ok) return true;
        last = `HTTP ${response.status}`;
      } catch (error) {
        last = errorMessage(error);
      }
      return undefined;
    }, 100).catch((error: unknown) => {
      if (error instanceof TwinError) throw error;
      throw new TwinError(`${member.name} not healthy after ${timeoutMs} ms (last: ${last}; see ${member.process.logFile})`);
    });
  }

  /** The links of one dependency service (every member's proxy). */
  linksTo(service: string): Link[] {
    return this.links.filter((l) => l.service === service);
  }

  async leader(): Promise<LeaderView> {
    const name = this.members[0]!.name;
    return { leader: name, term: 0, views: [{ member: name, reachable: await this.healthy(name), leader: name }], agreed: true };
  }

  async healthy(name: string, timeoutMs = 500): Promise<boolean> {
    this.member(name);
    return fetch(`${this.url}${this.spec.health}`, { signal: AbortSignal.timeout(timeoutMs) }).then((r) => r.ok, () => false);
  }

  async restartMember(name: string, timeoutMs = 20_000): Promise<void> {
    const member = this.member(name);
    const [program, ...args] = member.args as [string, ...string[]];
    member.process = await this.#network.spawn(name, name, program, args, member.env);
    await this.#waitHealthy(timeoutMs);
  }

  scrapeTargets(): ScrapeTarget[] {
    return [{ url: `${this.url}/metrics`, labels: { service: this.spec.name, member: this.members[0]!.name }, select: APP_METRICS }];
  }

  /**
   * Watches the app's config key (polled at the observation interval, one read at a time) and
   * reports every write after the first read, whoever made it, with what changed.
   */
  observe(observation: ServiceObservation): () => Promise<void> {
    const config = this.config;
    if (!config) return async () => undefined;
    let last: ConfigValue | undefined;
    let reading: Promise<void> | undefined;
    const poll = () => {
      reading ??= config.read(Math.min(1000, observation.intervalMs)).then((now) => {
        if (last && now.revision !== last.revision) {
          const changes = configChanges(last.value, now.value);
          observation.configWrite({ service: this.spec.name, key: config.key, revision: now.revision, detail: `${this.spec.name} config written (revision ${now.revision}): ${changes.join(', ') || 'same value'}` });
        }
        last = now;
      }, () => undefined).finally(() => {
        reading = undefined;
      });
    };
    poll();
    const timer = setInterval(poll, observation.intervalMs);
    return async () => {
      clearInterval(timer);
      await reading;
    };
  }

  /** Resets Toxiproxy (every toxic gone, every proxy enabled), then stops the app and the proxy. */
  async stop(): Promise<void> {
    await this.toxiproxy?.reset().catch(() => undefined);
    await Promise.all(this.members.map((m) => m.process.stop()));
  }
}
