import { formatMs } from '../../core/units.ts';
import { matchesSeries } from '../../core/series.ts';
import { readSeriesImport } from '../../core/series-import.ts';
import { EtcdCluster, ETCD_CLIENT_PORT } from '../../twin/index.ts';
import { shapeRate } from '../shape.ts';
import type { LoadKind } from '../types.ts';
import { EtcdKvLoad } from './load.ts';
import { buildEtcdKv, etcdKvSchema, type EtcdKvLoadSpec } from './spec.ts';

export { EtcdKvLoad, ETCD_KV_OPS } from './load.ts';
export type { EtcdKvLoadSpec } from './spec.ts';

/** A replayed traffic shape as a rate over run time, from the file the spec names. */
function replayedShape(spec: EtcdKvLoadSpec): ((tMs: number) => number) | undefined {
  if (!spec.shape) return undefined;
  const shape = spec.shape;
  const imported = readSeriesImport(shape.file).series;
  const series = shape.series === undefined ? imported[0]! : imported.find((s) => matchesSeries(s, shape.series!))!;
  return shapeRate(series, spec.ratePerSec, shape.speedup);
}

export const etcdKvLoad: LoadKind<EtcdKvLoadSpec, import('zod').output<typeof etcdKvSchema>> = {
  kind: 'etcd-kv',
  schema: etcdKvSchema,
  drives: 'etcd',
  build: buildEtcdKv,
  describe: (l) => `${l.kind} on ${l.target} at ${l.ratePerSec}/s open-model${l.shape ? ` (mean; shape replayed ${l.shape.speedup}x from ${l.shape.file})` : ''} (put ${l.mix.put}, get ${l.mix.get}), timeout ${formatMs(l.timeoutMs)}, ${l.client.balance === 'leader' ? 'to the leader' : 'round-robin over the members'}${l.client.requireLeader ? ', require-leader' : ''}`,
  create(spec, context) {
    const rateAt = replayedShape(spec);
    return new EtcdKvLoad({
      spec, endpoints: context.twin.of(spec.target, EtcdCluster).members.map((m) => `http://${m.ip}:${ETCD_CLIENT_PORT}`),
      runId: context.runId, random: context.random, now: context.now, ackFile: `${context.runDir}/acked-writes-${spec.name}.jsonl`,
      ...(rateAt ? { rateAt } : {}),
    });
  },
};
