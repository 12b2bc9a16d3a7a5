import { InjectionError } from '../core/errors.ts';
import { sleep } from '../core/units.ts';
import type { SeededRandom } from '../core/random.ts';
import type { TargetSpec } from '../core/scenario.ts';
import type { TwinService } from './services/types.ts';

export interface ResolvedTarget {
  host: string;
  /** e.g. `etcd-2 (leader)` */
  label: string;
}

/**
 * Resolves a target at the moment a fault fires. Roles ask the cluster who leads now; random
 * choices come from the run's seeded generator over a sorted list, so a replay picks the same.
 */
export async function resolveTarget(services: { service(name: string): TwinService }, target: TargetSpec, random: SeededRandom, what: string, exclude: readonly string[] = [], onWait?: (detail: string, waitedMs: number) => void): Promise<ResolvedTarget> {
  const service = services.service(target.service);
  if (target.kind === 'member') {
    if (exclude.includes(target.member)) throw new InjectionError(`${what}: ${target.member} is already used by this fault`);
    return { host: target.member, label: target.member };
  }
  const members = service.members.map((m) => m.name).filter((m) => !exclude.includes(m)).sort();
  if (target.role === 'random') {
    const host = random.pick(what, members);
    return { host, label: `${host} (random)` };
  }
  // Right after a heal or a kill a service may be between leaders; a role target waits for one
  // up to the service's bound (a few election timeouts) before the fault gives up.
  const waitStarted = performance.now();
  let view = await service.leader();
  while (view.leader === null && performance.now() - waitStarted < service.leaderWaitMs) {
    await sleep(100);
    view = await service.leader();
  }
  const waitedMs = Math.round(performance.now() - waitStarted);
  if (view.leader === null) throw new InjectionError(`${what}: ${target.source} had no leader for ${waitedMs} ms (the limit is ${service.leaderWaitMs} ms; ${view.views.map((v) => `${v.member}: ${v.reachable ? `term ${v.raftTerm}, no leader` : v.error}`).join('; ')})`);
  if (waitedMs >= 100) onWait?.(`${what}: waited ${waitedMs} ms for ${target.service} to elect a leader`, waitedMs);
  if (target.role === 'leader') {
    if (exclude.includes(view.leader)) throw new InjectionError(`${what}: the leader ${view.leader} is already used by this fault`);
    return { host: view.leader, label: `${view.leader} (leader)` };
  }
  const followers = members.filter((m) => m !== view.leader);
  if (followers.length === 0) throw new InjectionError(`${what}: ${target.source} has no follower to choose`);
  const host = random.pick(what, followers);
  return { host, label: `${host} (follower)` };
}
