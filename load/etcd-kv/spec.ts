import * as z from 'zod';
import type { ScenarioCheck } from '../../core/scenario.ts';
import { readSeriesImport } from '../../core/series-import.ts';
import { matchesSeries } from '../../core/series.ts';
import { loadCommon } from '../schema.ts';

/** etcd puts and gets through etcd's gRPC API at an open-model arrival rate. */
export interface EtcdKvLoadSpec {
  name: string;
  kind: 'etcd-kv';
  target: string;
  ratePerSec: number;
  mix: { put: number; get: number };
  timeoutMs: number;
  /** a traffic shape replayed `speedup` times faster (144: one day in ten minutes), mean rate `ratePerSec` */
  shape?: { file: string; speedup: number; series?: string };
  /** how the client picks a member (see load/etcd-kv/load.ts) */
  client: { balance: 'round-robin' | 'leader'; requireLeader: boolean };
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
  /** replay an imported traffic shape, time-compressed: the mean rate stays `rate` */
  shape: z.strictObject({ file: z.string(), speedup: z.number().positive().default(1), series: z.string().optional() }).optional(),
  /**
   * how the client picks a member: round-robin over all (etcd's clients) or the leader; with
   * requireLeader (etcd's WithRequireLeader) a member without a leader refuses at once and the
   * request moves on to the next member
   */
  client: z.strictObject({ balance: z.enum(['round-robin', 'leader']).default('round-robin'), requireLeader: z.boolean().default(false) }).default({ balance: 'round-robin', requireLeader: false }),
});

export function buildEtcdKv(document: z.output<typeof etcdKvSchema>, common: { name: string; target: string; ratePerSec: number; timeoutMs: number }, path: readonly (string | number)[], check: ScenarioCheck): EtcdKvLoadSpec {
  if (Math.abs(document.mix.put + document.mix.get - 1) > 1e-9) check.report([...path, 'mix'], `expected put + get = 1, saw ${document.mix.put} + ${document.mix.get}`);
  let shape: EtcdKvLoadSpec['shape'];
  if (document.shape) {
    const file = check.file(document.shape.file, [...path, 'shape', 'file']) ?? '';
    if (file) {
      try {
        const imported = readSeriesImport(file);
        const chosen = document.shape.series === undefined ? imported.series : imported.series.filter((s) => matchesSeries(s, document.shape!.series!));
        if (chosen.length !== 1) check.report([...path, 'shape', document.shape.series === undefined ? 'file' : 'series'], `expected exactly one series in ${document.shape.file}${document.shape.series ? ` matching ${JSON.stringify(document.shape.series)}` : ''}, saw ${chosen.length}${document.shape.series === undefined && chosen.length > 1 ? ' (name one with series:)' : ''}`);
      } catch (error) {
        check.report([...path, 'shape', 'file'], `cannot use ${document.shape.file}: ${(error as Error).message}`);
      }
    }
    shape = { file, speedup: document.shape.speedup, ...(document.shape.series ? { series: document.shape.series } : {}) };
  }
  return { ...common, kind: 'etcd-kv', mix: document.mix, client: document.client, ...(shape ? { shape } : {}) };
}
