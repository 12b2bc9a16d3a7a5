import * as z from 'zod';
import type { FaultTiming, ScenarioCheck, TargetSpec } from '../../core/scenario.ts';
import { faultTiming } from '../schema.ts';

/**
 * A network partition: `isolate` cuts the target from every other twin host; `one-way` stops the
 * target reaching `to` (default: every other host) while `to` still reaches it; `split` cuts every
 * pair across groups.
 */
export type PartitionSpec = FaultTiming & { type: 'partition' } & (
  | { mode: 'isolate'; target: TargetSpec }
  | { mode: 'one-way'; target: TargetSpec; to?: TargetSpec[] }
  | { mode: 'split'; groups: TargetSpec[][] }
);

declare module '../../core/scenario.ts' {
  interface FaultSpecs {
    partition: PartitionSpec;
  }
}

export const partitionSchema = z.discriminatedUnion('mode', [
  z.strictObject({ ...faultTiming, type: z.literal('partition'), mode: z.literal('isolate'), target: z.string() }),
  z.strictObject({ ...faultTiming, type: z.literal('partition'), mode: z.literal('one-way'), target: z.string(), to: z.array(z.string()).min(1).optional() }),
  z.strictObject({ ...faultTiming, type: z.literal('partition'), mode: z.literal('split'), groups: z.array(z.array(z.string()).min(1)).min(2) }),
]);

export function buildPartition(document: z.output<typeof partitionSchema>, base: FaultTiming, path: readonly (string | number)[], check: ScenarioCheck): PartitionSpec {
  switch (document.mode) {
    case 'isolate':
      return { ...base, type: 'partition', mode: 'isolate', target: check.target(document.target, [...path, 'target']) };
    case 'one-way':
      return {
        ...base, type: 'partition', mode: 'one-way', target: check.target(document.target, [...path, 'target']),
        ...(document.to ? { to: document.to.map((t, j) => check.target(t, [...path, 'to', j])) } : {}),
      };
    case 'split': {
      const groups = document.groups.map((group, g) => group.map((t, j) => check.target(t, [...path, 'groups', g, j])));
      const seen = new Map<string, number>();
      groups.forEach((group, g) => group.forEach((t, j) => {
        if (t.kind !== 'member') return;
        if (seen.has(t.member)) check.report([...path, 'groups', g, j], `${t.member} is already in group ${seen.get(t.member)}`);
        seen.set(t.member, g);
      }));
      return { ...base, type: 'partition', mode: 'split', groups };
    }
  }
}
