import { formatMs } from '../../core/units.ts';
import { AppService } from '../../twin/index.ts';
import type { LoadKind } from '../types.ts';
import { HttpLoad } from './load.ts';
import { buildHttp, httpSchema, type HttpLoadSpec } from './spec.ts';

export { HttpLoad } from './load.ts';
export type { HttpLoadSpec } from './spec.ts';

export const httpLoad: LoadKind<HttpLoadSpec, import('zod').output<typeof httpSchema>> = {
  kind: 'http',
  schema: httpSchema,
  drives: 'app',
  build: buildHttp,
  describe: (l) => `http on ${l.target} at ${l.ratePerSec}/s open-model (${l.requests.map((r) => `${r.name} x${r.weight}`).join(', ')}), timeout ${formatMs(l.timeoutMs)}`,
  create: (spec, context) => new HttpLoad({ spec, baseUrl: context.twin.of(spec.target, AppService).url, random: context.random, now: context.now }),
};
