import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { TwinError, errorMessage } from '../../../core/errors.ts';
import { sleep, waitFor } from '../../../core/units.ts';
import { memberNames } from '../../../core/scenario.ts';
import type { ScrapeTarget } from '../../../core/series.ts';
import type { ManagedProcess, TwinBackend } from '../../backends/types.ts';
import type { LeaderView, MemberView, TwinService } from '../types.ts';
import type { EtcdServiceSpec } from './spec.ts';

export const ETCD_CLIENT_PORT = 2379;
export const ETCD_PEER_PORT = 2380;

export interface EtcdMember {
  name: string;
  ip: string;
  clientUrl: string;
  /** the member's current process; replaced by `restartMember` */
  process: ManagedProcess;
  /** the command line, so a killed member comes back as it was */
  args: string[];
  /** raft member id as etcd reports it (decimal string), learnt once ready. */
  memberId?: string;
}

/** A running etcd cluster of Debian's etcd 3.4, one member per netns host. */
export class EtcdCluster implements TwinService {
  readonly spec: EtcdServiceSpec;
  readonly members: EtcdMember[];
  readonly probePort = ETCD_PEER_PORT;
  readonly clientPort = ETCD_CLIENT_PORT;
  readonly leaderBased = true;
  readonly leaderWaitMs: number;
  readonly healthCheck = '/health';
  readonly #network: TwinBackend;

  private constructor(spec: EtcdServiceSpec, members: EtcdMember[], network: TwinBackend) {
    this.spec = spec;
    this.members = members;
    this.#network = network;
    // an election takes at most two election timeouts (randomised in [election, 2 x election)) per
    // round; five leave room for a split vote on a busy machine
    this.leaderWaitMs = 5 * spec.electionMs;
  }

  /**
   * Starts a member again after it was killed, with its data and command line, and waits until it
   * answers /health. Its log continues in the same file.
   */
  async restartMember(name: string, timeoutMs = 15_000): Promise<void> {
    const member = this.member(name);
    const exit = await Promise.race([member.process.exited, Promise.resolve(undefined)]);
    if (exit === undefined) throw new TwinError(`${name} is still running (pid ${member.process.pid}); stop it before a restart`);
    member.process = await this.#network.spawn(name, name, 'etcd', member.args);
    let last = 'no answer yet';
    await waitFor(`${name} healthy after its restart`, timeoutMs, async () => {
      try {
        const response = await fetch(`${member.clientUrl}/health`, { signal: AbortSignal.timeout(500) });
        if (response.ok) return true;
        last = `HTTP ${response.status}`;
      } catch (error) {
        last = describeFetchError(error);
      }
      return undefined;
    }).catch(() => {
      throw new TwinError(`${name} not healthy ${timeoutMs} ms after its restart (last: ${last})`);
    });
  }

  static async start(options: { spec: EtcdServiceSpec; backend: TwinBackend; dataDir: string; runId: string; readyTimeoutMs?: number }): Promise<EtcdCluster> {
    const { spec, backend: network, dataDir, runId } = options;
    const names = memberNames(spec);
    const initialCluster = names.map((name) => `${name}=http://${network.host(name).ip}:${ETCD_PEER_PORT}`).join(',');
    const members = await Promise.all(names.map(async (name): Promise<EtcdMember> => {
      const ip = network.host(name).ip;
      const memberDir = join(dataDir, name);
      mkdirSync(memberDir, { recursive: true });
      const args = [
        '--name', name,
        '--data-dir', memberDir,
        '--listen-client-urls', `http://${ip}:${ETCD_CLIENT_PORT},http://127.0.0.1:${ETCD_CLIENT_PORT}`,
        '--advertise-client-urls', `http://${ip}:${ETCD_CLIENT_PORT}`,
        '--listen-peer-urls', `http://${ip}:${ETCD_PEER_PORT}`,
        '--initial-advertise-peer-urls', `http://${ip}:${ETCD_PEER_PORT}`,
        '--initial-cluster', initialCluster,
        '--initial-cluster-state', 'new',
        '--initial-cluster-token', `moat-${runId}-${spec.name}`,
        '--heartbeat-interval', String(spec.heartbeatMs),
        '--election-timeout', String(spec.electionMs),
        '--logger', 'zap',
        '--log-outputs', 'stderr',
        '--metrics', 'extensive',
        ...(spec.preVote ? ['--pre-vote'] : []),
      ];
      const process = await network.spawn(name, name, 'etcd', args);
      return { name, ip, clientUrl: `http://${ip}:${ETCD_CLIENT_PORT}`, process, args };
    }));
    const cluster = new EtcdCluster(spec, members, network);
    await cluster.waitReady(options.readyTimeoutMs ?? 15_000);
    return cluster;
  }

  get endpoints(): string[] {
    return this.members.map((m) => m.clientUrl);
  }

  scrapeTargets(): ScrapeTarget[] {
    return this.members.map((m) => ({ url: `${m.clientUrl}/metrics`, labels: { service: this.spec.name, member: m.name }, select: ETCD_METRICS }));
  }

  member(name: string): EtcdMember {
    const member = this.members.find((m) => m.name === name);
    if (!member) throw new TwinError(`no etcd member ${name} (members: ${this.members.map((m) => m.name).join(', ')})`);
    return member;
  }

  /** Waits until every member answers /health and a leader is elected. */
  async waitReady(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const last = new Map<string, string>();
    for (;;) {
      const results = await Promise.all(this.members.map(async (member) => {
        const exit = await Promise.race([member.process.exited, Promise.resolve(undefined)]);
        if (exit !== undefined) throw new TwinError(`${member.name} exited with ${exit} while starting (see ${member.process.logFile})`);
        try {
          const response = await fetch(`${member.clientUrl}/health`, { signal: AbortSignal.timeout(500) });
          const body = await response.text();
          if (response.ok && body.includes('"true"')) return true;
          last.set(member.name, `HTTP ${response.status} ${body.trim()}`);
        } catch (error) {
          last.set(member.name, describeFetchError(error));
        }
        return false;
      }));
      if (results.every(Boolean)) {
        const view = await this.leader();
        if (view.leader !== null) {
          for (const member of this.members) member.memberId = view.views.find((v) => v.member === member.name)?.memberId;
          return;
        }
        last.set('cluster', 'no leader elected yet');
      }
      if (Date.now() > deadline) {
        const seen = [...last].map(([name, what]) => `${name}: ${what}`).join('; ');
        throw new TwinError(`etcd cluster ${this.spec.name} not ready after ${timeoutMs} ms (last: ${seen})`);
      }
      await sleep(50);
    }
  }

  /** Asks every member, in parallel, who leads. */
  async leader(timeoutMs = 300): Promise<LeaderView> {
    const raw = await Promise.all(this.members.map(async (member) => {
      try {
        const response = await fetch(`${member.clientUrl}/v3/maintenance/status`, {
          method: 'POST', body: '{}', headers: { 'content-type': 'application/json' }, signal: AbortSignal.timeout(timeoutMs),
        });
        if (!response.ok) return { member: member.name, reachable: false, error: `HTTP ${response.status}` };
        const status = (await response.json()) as { header?: { member_id?: string }; leader?: string; raftTerm?: string };
        return { member: member.name, reachable: true, memberId: status.header?.member_id, leaderId: status.leader, raftTerm: Number(status.raftTerm ?? 0) };
      } catch (error) {
        return { member: member.name, reachable: false, error: describeFetchError(error) };
      }
    }));
    const idToName = new Map<string, string>();
    for (const member of this.members) if (member.memberId) idToName.set(member.memberId, member.name);
    for (const view of raw) if ('memberId' in view && view.memberId) idToName.set(view.memberId, view.member);
    const views = raw.map((view): MemberView => {
      if (!view.reachable || !('leaderId' in view)) return { member: view.member, reachable: false, ...('error' in view && view.error ? { error: view.error } : {}) };
      const leader = view.leaderId && view.leaderId !== '0' ? idToName.get(view.leaderId) ?? `id:${view.leaderId}` : undefined;
      return { member: view.member, reachable: true, raftTerm: view.raftTerm, ...(leader ? { leader } : {}), ...(view.memberId ? { memberId: view.memberId } : {}) };
    });
    const reachable = views.filter((v) => v.reachable);
    // The leader named in the highest term that has one. A member cut off from its peers without
    // pre-vote keeps raising its own term while it campaigns; that term has no leader and must not
    // hide the one the majority elected.
    const named = reachable.filter((v) => v.leader);
    const leaderTerm = Math.max(0, ...named.map((v) => v.raftTerm ?? 0));
    const leader = named.find((v) => (v.raftTerm ?? 0) === leaderTerm)?.leader ?? null;
    const term = leader === null ? Math.max(0, ...reachable.map((v) => v.raftTerm ?? 0)) : leaderTerm;
    const agreed = reachable.length > 0 && reachable.every((v) => v.leader === leader);
    return { leader, term, views, agreed };
  }

  /** Whether the member answers /health (a paused process does not). */
  async healthy(name: string, timeoutMs = 500): Promise<boolean> {
    return fetch(`${this.member(name).clientUrl}/health`, { signal: AbortSignal.timeout(timeoutMs) }).then(() => true, () => false);
  }

  async stop(): Promise<void> {
    await Promise.all(this.members.map((m) => m.process.stop()));
  }
}

function describeFetchError(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  if (cause?.code) return cause.code === 'ECONNREFUSED' ? 'connection refused' : cause.code;
  if ((error as Error).name === 'TimeoutError') return 'timed out';
  return errorMessage(error);
}

/** The etcd metrics moat keeps as series (etcd 3.4 runs with `--metrics extensive`). */
export const ETCD_METRICS = {
  gauges: ['etcd_server_has_leader', 'etcd_server_is_leader', 'etcd_server_proposals_pending'],
  counters: [
    'etcd_server_leader_changes_seen_total',
    'etcd_server_proposals_failed_total',
    'etcd_server_proposals_committed_total',
    'etcd_server_heartbeat_send_failures_total',
    'etcd_server_slow_apply_total',
  ],
  histograms: [
    { name: 'grpc_server_handling_seconds', by: ['grpc_method'] },
    { name: 'etcd_network_peer_round_trip_time_seconds' },
    { name: 'etcd_disk_wal_fsync_duration_seconds' },
  ],
} as const;
