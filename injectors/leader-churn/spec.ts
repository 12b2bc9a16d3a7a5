import * as z from 'zod';
import type { FaultTiming, ScenarioCheck } from '../../core/scenario.ts';
import { faultTiming } from '../schema.ts';

/**
 * Leadership moved every `everyMs`: etcd's leader (MoveLeader to a seeded random other member),
 * Kafka partition leaders (replicas reordered, then a preferred election; a seeded partition of
 * `topic`, or `partition`), or Kafka's active KRaft controller (`controller`: killed and restarted).
 */
export type LeaderChurnSpec = FaultTiming & { type: 'leader-churn'; service: string; everyMs: number; controller?: boolean; topic?: string; partition?: number };

declare module '../../core/scenario.ts' {
  interface FaultSpecs {
    'leader-churn': LeaderChurnSpec;
  }
}

export const leaderChurnSchema = z.strictObject({
  ...faultTiming, type: z.literal('leader-churn'),
  /** a service (`etcd`, `kafka`: partition leaders), or `kafka.controller` */
  target: z.string(),
  every: z.string().default('2s'),
  /** Kafka: churn this topic's partitions only (default: every topic of the service) */
  topic: z.string().optional(),
  /** Kafka: churn this partition only (needs topic) */
  partition: z.int().min(0).optional(),
});

export function buildLeaderChurn(document: z.output<typeof leaderChurnSchema>, base: FaultTiming, path: readonly (string | number)[], check: ScenarioCheck): LeaderChurnSpec {
  const services = check.services;
  const at = [...path, 'target'];
  const controller = document.target.endsWith('.controller');
  const name = controller ? document.target.slice(0, -'.controller'.length) : document.target;
  const service = services.get(name);
  const kafkaTargets = [...services.values()].filter((s) => s.kind === 'kafka').map((s) => `${s.name}.controller`);
  if (!service) check.report(at, `expected a service of the twin whose leaders move (${[...services.keys(), ...kafkaTargets].join(', ')}), saw ${JSON.stringify(document.target)}`);
  else if (service.replicas < 2) check.report(at, `${name} has ${service.replicas} member: leadership has nowhere to move`);
  else if (service.kind !== 'etcd' && service.kind !== 'kafka') check.report(at, `leader churn moves etcd's or Kafka's leaders; ${name} is ${service.kind}`);
  else if (controller && service.kind !== 'kafka') check.report(at, `.controller applies to a Kafka service (${kafkaTargets.join(', ') || 'the twin has none'}); for ${name}, target the service itself`);
  if (service?.kind !== 'kafka' || controller) {
    if (document.topic !== undefined) check.report([...path, 'topic'], `topic applies to Kafka partition leaders (target: a Kafka service), not to ${document.target}`);
    if (document.partition !== undefined) check.report([...path, 'partition'], `partition applies to Kafka partition leaders (target: a Kafka service), not to ${document.target}`);
  } else {
    const topic = document.topic === undefined ? undefined : service.topics.find((t) => t.name === document.topic);
    if (document.topic !== undefined && !topic) check.report([...path, 'topic'], `expected a topic of ${name} (${service.topics.map((t) => t.name).join(', ') || 'none declared'}), saw ${JSON.stringify(document.topic)}`);
    if (document.topic === undefined && service.topics.length === 0) check.report(at, `${name} declares no topics: partition leaders have nothing to churn (add twin.services.${name}.topics, or target ${name}.controller)`);
    if (document.partition !== undefined) {
      if (document.topic === undefined) check.report([...path, 'partition'], 'partition needs topic');
      else if (topic && document.partition >= topic.partitions) check.report([...path, 'partition'], `${document.topic} has partitions 0-${topic.partitions - 1}, saw ${document.partition}`);
    }
    if (topic && topic.replicationFactor < 2) check.report([...path, 'topic'], `${document.topic} has one replica: its leadership has nowhere to move`);
  }
  const everyMs = check.duration(document.every, [...path, 'every']);
  if (everyMs < 200) check.report([...path, 'every'], `expected at least 200ms between moves, saw ${JSON.stringify(document.every)}`);
  return {
    ...base, type: 'leader-churn', service: name, everyMs,
    ...(controller ? { controller: true } : {}),
    ...(document.topic === undefined ? {} : { topic: document.topic }),
    ...(document.partition === undefined ? {} : { partition: document.partition }),
  };
}
