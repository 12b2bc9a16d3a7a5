import * as z from 'zod';
import type { ExecutorSpec, ScenarioCheck } from '../../core/scenario.ts';
import { loadCommon, type LoadCommon } from '../schema.ts';

/** An idempotent acks=all producer at a fixed arrival rate and a consumer group on one topic. */
export interface KafkaLoadSpec {
  name: string;
  kind: 'kafka';
  target: string;
  topic: string;
  ratePerSec: number;
  timeoutMs: number;
  executor: ExecutorSpec;
  messageBytes: number;
}

declare module '../../core/scenario.ts' {
  interface LoadSpecs {
    kafka: KafkaLoadSpec;
  }
}

export const kafkaLoadSchema = z.strictObject({
  ...loadCommon('10s'),
  kind: z.literal('kafka'),
  topic: z.string(),
  messageBytes: z.int().min(32).max(1_000_000).default(100),
});

export function buildKafkaLoad(document: z.output<typeof kafkaLoadSchema>, common: LoadCommon, path: readonly (string | number)[], check: ScenarioCheck): KafkaLoadSpec {
  const target = check.services.get(document.target);
  if (target?.kind === 'kafka' && !target.topics.some((t) => t.name === document.topic)) {
    check.report([...path, 'topic'], `expected a topic of ${document.target} (${target.topics.map((t) => t.name).join(', ') || 'it declares none: add one under twin.services.' + document.target + '.topics'}), saw ${JSON.stringify(document.topic)}`);
  }
  return { ...common, kind: 'kafka', topic: document.topic, messageBytes: document.messageBytes };
}
