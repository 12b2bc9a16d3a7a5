import { formatMs } from '../../core/units.ts';
import { EtcdCluster, ETCD_CLIENT_PORT } from '../../twin/index.ts';
import { describeExecutor, rateProfile } from '../executor.ts';
import type { LoadKind } from '../types.ts';
import { EtcdKvLoad } from './load.ts';
import { buildEtcdKv, etcdKvSchema, type EtcdKvLoadSpec } from './spec.ts';

export { EtcdKvLoad, ETCD_KV_OPS } from './load.ts';
export type { EtcdKvLoadSpec } from './spec.ts';

export const etcdKvLoad: LoadKind<EtcdKvLoadSpec, import('zod').output<typeof etcdKvSchema>> = {
  kind: 'etcd-kv',
  schema: etcdKvSchema,
  drives: 'etcd',
  build: buildEtcdKv,
  describe: (l) => `${l.kind} on ${l.target} ${describeExecutor(l)} (put ${l.mix.put}, get ${l.mix.get}), timeout ${formatMs(l.timeoutMs)}, ${l.client.balance === 'leader' ? 'to the leader' : 'round-robin over the members'}${l.client.requireLeader ? ', require-leader' : ''}${l.client.channels > 1 ? `, ${l.client.channels} channels per member` : ''}`,
  create(spec, context) {
    return new EtcdKvLoad({
      spec, endpoints: context.twin.of(spec.target, EtcdCluster).members.map((m) => `http://${m.ip}:${ETCD_CLIENT_PORT}`),
      runId: context.runId, random: context.random, now: context.now, ackFile: `${context.runDir}/acked-writes-${spec.name}.jsonl`,
      profile: rateProfile(spec.executor, spec.ratePerSec),
    });
  },
};
