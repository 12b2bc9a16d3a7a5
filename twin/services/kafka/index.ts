import type { ServiceKind } from '../types.ts';
import { dirname } from 'node:path';
import { KafkaCluster, KAFKA_LOG4J, kafkaInstall } from './cluster.ts';
import { buildKafka, kafkaSchema, type KafkaServiceSpec } from './spec.ts';

export { KafkaCluster, KafkaAdmin, KAFKA_LOG4J, KAFKA_PORT, KAFKA_CONTROLLER_PORT, kafkaInstall, type KafkaInstall, type KafkaState, type PartitionState } from './cluster.ts';
export type { KafkaServiceSpec, KafkaTopicSpec } from './spec.ts';

/** Apache Kafka (KRaft): partition leaders, the controller, ISRs, all through its own Admin API. */
export const kafkaService: ServiceKind<KafkaServiceSpec, import('zod').output<typeof kafkaSchema>> = {
  kind: 'kafka',
  schema: kafkaSchema,
  build: buildKafka,
  describe: (spec) => `KRaft brokers+controllers; topics ${spec.topics.map((t) => `${t.name} ${t.partitions}p rf ${t.replicationFactor} min.isr ${t.minInsyncReplicas}`).join(', ') || 'none'}`,
  start: (spec, context) => KafkaCluster.start({ spec, backend: context.backend, dataDir: context.dataDir, runId: context.runId, ledger: context.ledger, logDir: context.logDir, ...(context.readyTimeoutMs === undefined ? {} : { readyTimeoutMs: context.readyTimeoutMs }) }),
  processName: () => 'java',
  async images() {
    const install = await kafkaInstall();
    const folders = [...new Set(install.classpath.split(':').map((entry) => dirname(entry)))];
    return [{ name: 'kafka', programs: ['java'], files: [...folders, KAFKA_LOG4J] }];
  },
  versions: async () => ({ kafka: (await kafkaInstall().catch(() => undefined))?.version ?? 'not installed' }),
  keySeries: ['kafka_under_replicated_partitions', 'kafka_offline_partitions', 'kafka_consumer_lag'],
  // polled through its admin API instead
  scrapedByDefault: false,
};
