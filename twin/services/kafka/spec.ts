import * as z from 'zod';
import type { ScenarioCheck } from '../../../core/scenario.ts';

export interface KafkaTopicSpec {
  name: string;
  partitions: number;
  replicationFactor: number;
  minInsyncReplicas: number;
}

/** Apache Kafka in KRaft mode: every member is a broker and a controller. */
export interface KafkaServiceSpec {
  name: string;
  kind: 'kafka';
  replicas: number;
  topics: KafkaTopicSpec[];
  heapMb: number;
  replicaLagMs: number;
}

declare module '../../../core/scenario.ts' {
  interface ServiceSpecs {
    kafka: KafkaServiceSpec;
  }
}

const kafkaTopic = z.strictObject({
  partitions: z.int().min(1).max(1000).default(3),
  /** copies of each partition; at most the number of brokers */
  replicationFactor: z.int().min(1).max(7).default(3),
  /** with acks=all, how many copies must have a write before it is acknowledged */
  minInsyncReplicas: z.int().min(1).max(7).default(2),
});

export const kafkaSchema = z.strictObject({
  kind: z.literal('kafka'),
  /** brokers, each also a KRaft controller */
  replicas: z.int().min(1).max(7).default(3),
  topics: z.record(z.string().regex(/^[A-Za-z0-9._-]{1,100}$/, { error: 'expected a Kafka topic name: letters, digits, ".", "_" and "-" (at most 100)' }), kafkaTopic).default({}),
  /** JVM heap per broker */
  heap: z.string().default('512m'),
  /** a follower out of step this long leaves the ISR (Kafka's replica.lag.time.max.ms; its default is 30s) */
  replicaLag: z.string().default('10s'),
});

export function buildKafka(name: string, document: z.output<typeof kafkaSchema>, check: ScenarioCheck): KafkaServiceSpec {
  const path = ['twin', 'services', name];
  const topics = Object.entries(document.topics).map(([topic, t]) => {
    const at = [...path, 'topics', topic];
    if (t.replicationFactor > document.replicas) check.report([...at, 'replicationFactor'], `expected at most ${document.replicas} (the brokers of ${name}), saw ${t.replicationFactor}`);
    if (t.minInsyncReplicas > t.replicationFactor) check.report([...at, 'minInsyncReplicas'], `expected at most the replication factor (${t.replicationFactor}), saw ${t.minInsyncReplicas}`);
    return { name: topic, ...t };
  });
  const heap = /^(\d+)([mg])$/i.exec(document.heap);
  if (!heap) check.report([...path, 'heap'], `expected a heap size such as "512m" or "1g", saw ${JSON.stringify(document.heap.slice(0, 40))}`);
  const heapMb = heap ? Number(heap[1]) * (heap[2]!.toLowerCase() === 'g' ? 1024 : 1) : Number.NaN;
  if (heapMb < 128) check.report([...path, 'heap'], `a Kafka broker needs at least 128m of heap, saw ${JSON.stringify(document.heap)}`);
  return { name, kind: 'kafka', replicas: document.replicas, topics, heapMb, replicaLagMs: check.duration(document.replicaLag, [...path, 'replicaLag']) };
}
