import { InjectionError } from '../core/errors.ts';
import type { SeededRandom } from '../core/random.ts';
import type { TargetSpec } from './scenario/index.ts';
import type { StartedTwin } from '../twin/index.ts';
import type { ResolvedTarget } from '../injectors/index.ts';

/**
 * Resolves a target at the moment a fault fires. Roles ask the cluster who leads now; random
 * choices come from the run's seeded generator over a sorted list, so a replay picks the same.
 */
export async function resolveTarget(twin: StartedTwin, target: TargetSpec, random: SeededRandom, what: string, exclude: readonly string[] = []): Promise<ResolvedTarget> {
  const service = twin.service(target.service);
  if (target.kind === 'member') {
    if (exclude.includes(target.member)) throw new InjectionError(`${what}: ${target.member} is already used by this fault`);
    return { host: target.member, label: target.member };
  }
  const members = service.members.map((m) => m.name).filter((m) => !exclude.includes(m)).sort();
  if (target.role === 'random') {
    const host = random.pick(what, members);
    return { host, label: `${host} (random)` };
  }
  const view = await service.leader();
  if (view.leader === null) throw new InjectionError(`${what}: ${target.source} has no leader right now (${view.views.map((v) => `${v.member}: ${v.reachable ? `term ${v.raftTerm}, no leader` : v.error}`).join('; ')})`);
  if (target.role === 'leader') {
    if (exclude.includes(view.leader)) throw new InjectionError(`${what}: the leader ${view.leader} is already used by this fault`);
    return { host: view.leader, label: `${view.leader} (leader)` };
  }
  const followers = members.filter((m) => m !== view.leader);
  if (followers.length === 0) throw new InjectionError(`${what}: ${target.source} has no follower to choose`);
  const host = random.pick(what, followers);
  return { host, label: `${host} (follower)` };
}
