import { formatMs } from '../../core/units.ts';
import { AppService } from '../../twin/index.ts';
import type { LoadKind } from '../types.ts';
import { basename } from 'node:path';
import { describeExecutor } from '../executor.ts';
import { HttpLoad, seedOf } from './load.ts';
import { buildHttp, httpSchema, type HttpLoadSpec } from './spec.ts';

export { HttpLoad } from './load.ts';
export type { HttpLoadSpec } from './spec.ts';

export const httpLoad: LoadKind<HttpLoadSpec, import('zod').output<typeof httpSchema>> = {
  kind: 'http',
  schema: httpSchema,
  drives: 'app',
  build: buildHttp,
  describe: (l) => `http on ${l.target} ${describeExecutor(l)} (${l.script ? `script ${basename(l.script)}` : l.requests.map((r) => `${r.name} x${r.weight}`).join(', ')}), timeout ${formatMs(l.timeoutMs)}, ${l.connections} connections, ${l.workers === 'auto' ? 'workers auto' : `${l.workers} worker${l.workers === 1 ? '' : 's'}`}`,
  create(spec, context) {
    const app = context.twin.of(spec.target, AppService);
    return new HttpLoad({ spec, baseUrl: app.url, seed: seedOf(() => context.random.next()), now: context.now, warmupPath: app.spec.health });
  },
};
