import * as z from 'zod';
import type { ExecutorSpec, ScenarioCheck } from '../../core/scenario.ts';
import { loadCommon, type LoadCommon } from '../schema.ts';

/** etcd puts and gets through etcd's gRPC API at an open-model arrival rate. */
export interface EtcdKvLoadSpec {
  name: string;
  kind: 'etcd-kv';
  target: string;
  ratePerSec: number;
  mix: { put: number; get: number };
  timeoutMs: number;
  executor: ExecutorSpec;
  /** how the client picks a member (see load/etcd-kv/load.ts) */
  client: { balance: 'round-robin' | 'leader'; requireLeader: boolean; channels: number };
}

declare module '../../core/scenario.ts' {
  interface LoadSpecs {
    'etcd-kv': EtcdKvLoadSpec;
  }
}

export const etcdKvSchema = z.strictObject({
  ...loadCommon('1s'),
  kind: z.literal('etcd-kv'),
  mix: z.strictObject({ put: z.number().min(0).max(1).default(0.5), get: z.number().min(0).max(1).default(0.5) }).default({ put: 0.5, get: 0.5 }),
  /**
   * how the client picks a member: round-robin over all (etcd's clients) or the leader; with
   * requireLeader (etcd's WithRequireLeader) a member without a leader refuses at once and the
   * request moves on to the next member
   */
  client: z.strictObject({
    balance: z.enum(['round-robin', 'leader']).default('round-robin'),
    requireLeader: z.boolean().default(false),
    /** gRPC channels (HTTP/2 connections) per member, requests spread over them in turn */
    channels: z.int().min(1).max(16).default(1),
  }).default({ balance: 'round-robin', requireLeader: false, channels: 1 }),
});

export function buildEtcdKv(document: z.output<typeof etcdKvSchema>, common: LoadCommon, path: readonly (string | number)[], check: ScenarioCheck): EtcdKvLoadSpec {
  if (Math.abs(document.mix.put + document.mix.get - 1) > 1e-9) check.report([...path, 'mix'], `expected put + get = 1, saw ${document.mix.put} + ${document.mix.get}`);
  return { ...common, kind: 'etcd-kv', mix: document.mix, client: document.client };
}
