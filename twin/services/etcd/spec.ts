import * as z from 'zod';
import type { ScenarioCheck } from '../../../core/scenario.ts';

/** Debian's etcd 3.4, one member per host. */
export interface EtcdServiceSpec {
  name: string;
  kind: 'etcd';
  replicas: number;
  heartbeatMs: number;
  electionMs: number;
  preVote: boolean;
}

declare module '../../../core/scenario.ts' {
  interface ServiceSpecs {
    etcd: EtcdServiceSpec;
  }
}

export const etcdSchema = z.strictObject({
  kind: z.literal('etcd'),
  replicas: z.int().min(1).max(7).default(3),
  /** raft heartbeat interval; etcd's default is 100ms */
  heartbeat: z.string().default('100ms'),
  /** raft election timeout; etcd's default is 1000ms */
  election: z.string().default('1000ms'),
  /** raft pre-vote: a member rejoining after a partition does not force an election (etcd 3.4's default: off) */
  preVote: z.boolean().default(false),
});

export function buildEtcd(name: string, document: z.output<typeof etcdSchema>, check: ScenarioCheck): EtcdServiceSpec {
  const path = ['twin', 'services', name];
  const heartbeatMs = check.duration(document.heartbeat, [...path, 'heartbeat']);
  const electionMs = check.duration(document.election, [...path, 'election']);
  if (electionMs < 5 * heartbeatMs) check.report([...path, 'election'], `etcd needs election >= 5 x heartbeat (${heartbeatMs} ms), saw ${electionMs} ms`);
  return { name, kind: 'etcd', replicas: document.replicas, heartbeatMs, electionMs, preVote: document.preVote };
}
