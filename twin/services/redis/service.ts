import { answersRequest } from '../../../core/probe.ts';
import { TwinError } from '../../../core/errors.ts';
import { waitFor } from '../../../core/units.ts';
import type { ScrapeTarget } from '../../../core/series.ts';
import type { TwinBackend } from '../../backends/types.ts';
import type { LeaderView, ServiceMember, TwinService } from '../types.ts';
import type { RedisServiceSpec } from './spec.ts';

export const REDIS_PORT = 6379;

/** Debian's redis-server, one member, no persistence: a dependency of the service under test. */
export class RedisService implements TwinService {
  readonly spec: RedisServiceSpec;
  readonly members: ServiceMember[];
  readonly probePort = REDIS_PORT;
  readonly clientPort = REDIS_PORT;
  readonly leaderBased = false;
  readonly leaderWaitMs = 0;
  readonly healthCheck = 'a PING';
  readonly #network: TwinBackend;

  private constructor(spec: RedisServiceSpec, members: ServiceMember[], network: TwinBackend) {
    this.spec = spec;
    this.members = members;
    this.#network = network;
  }

  static async start(options: { spec: RedisServiceSpec; backend: TwinBackend; readyTimeoutMs?: number }): Promise<RedisService> {
    const { spec, backend: network } = options;
    const name = `${spec.name}-1`;
    const ip = network.host(name).ip;
    const args = ['--bind', ip, '127.0.0.1', '--port', String(REDIS_PORT), '--save', '', '--appendonly', 'no', '--protected-mode', 'no', '--daemonize', 'no', '--maxclients', '10000'];
    const member: ServiceMember = { name, ip, process: await network.spawn(name, name, 'redis-server', args), args };
    const service = new RedisService(spec, [member], network);
    await service.#waitHealthy(name, options.readyTimeoutMs ?? 10_000);
    return service;
  }

  member(name: string): ServiceMember {
    const member = this.members.find((m) => m.name === name);
    if (!member) throw new TwinError(`no redis member ${name}`);
    return member;
  }

  async #waitHealthy(name: string, timeoutMs: number): Promise<void> {
    await waitFor(`${name} answering PING`, timeoutMs, async () => {
      const exit = await Promise.race([this.member(name).process.exited, Promise.resolve(undefined)]);
      if (exit !== undefined) throw new TwinError(`${name} exited with ${exit} (see ${this.member(name).process.logFile})`);
      return (await this.healthy(name, 300)) ? true : undefined;
    }, 50);
  }

  async leader(): Promise<LeaderView> {
    const name = this.members[0]!.name;
    return { leader: name, term: 0, views: [{ member: name, reachable: await this.healthy(name, 300), leader: name }], agreed: true };
  }

  /** PING answered with +PONG. */
  healthy(name: string, timeoutMs = 500): Promise<boolean> {
    return redisPing(this.member(name).ip, REDIS_PORT, timeoutMs);
  }

  async restartMember(name: string, timeoutMs = 10_000): Promise<void> {
    const member = this.member(name);
    member.process = await this.#network.spawn(name, name, 'redis-server', member.args);
    await this.#waitHealthy(name, timeoutMs);
  }

  scrapeTargets(): ScrapeTarget[] {
    return [];
  }

  async stop(): Promise<void> {
    await Promise.all(this.members.map((m) => m.process.stop()));
  }
}

export function redisPing(host: string, port: number, timeoutMs: number): Promise<boolean> {
  return answersRequest(host, port, 'PING\r\n', (received) => received.toString().startsWith('+PONG'), timeoutMs);
}
