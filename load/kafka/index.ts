import { formatMs } from '../../core/units.ts';
import { KafkaCluster } from '../../twin/index.ts';
import type { LoadKind } from '../types.ts';
import { describeExecutor } from '../executor.ts';
import { KafkaLoad } from './load.ts';
import { buildKafkaLoad, kafkaLoadSchema, type KafkaLoadSpec } from './spec.ts';

export { KafkaLoad, KAFKA_OPS } from './load.ts';
export type { KafkaLoadSpec } from './spec.ts';

export const kafkaLoad: LoadKind<KafkaLoadSpec, import('zod').output<typeof kafkaLoadSchema>> = {
  kind: 'kafka',
  schema: kafkaLoadSchema,
  drives: 'kafka',
  build: buildKafkaLoad,
  describe: (l) => `kafka producer (acks=all, idempotent) on ${l.target} topic ${l.topic} ${describeExecutor(l)}, ${l.messageBytes} B messages, delivery timeout ${formatMs(l.timeoutMs)}; consumer group on the same topic`,
  create(spec, context) {
    const kafka = context.twin.of(spec.target, KafkaCluster);
    const partitions = kafka.spec.topics.find((t) => t.name === spec.topic)!.partitions;
    return new KafkaLoad({ spec, install: kafka.install, bootstrap: kafka.bootstrap, partitions, runId: context.runId, clockZeroEpochMs: context.clockZeroEpochMs, runDir: context.runDir, ledger: context.ledger });
  },
};
