import { programVersion } from '../../../core/exec.ts';
import type { ServiceKind } from '../types.ts';
import { RedisService } from './service.ts';
import { redisSchema, type RedisServiceSpec } from './spec.ts';

export { RedisService, REDIS_PORT, redisPing } from './service.ts';
export type { RedisServiceSpec } from './spec.ts';

/** Redis: a dependency of the service under test, reached through Toxiproxy. */
export const redisService: ServiceKind<RedisServiceSpec, import('zod').output<typeof redisSchema>> = {
  kind: 'redis',
  schema: redisSchema,
  build: (name) => ({ name, kind: 'redis', replicas: 1 }),
  describe: () => 'redis-server, no persistence',
  start: (spec, context) => RedisService.start({ spec, backend: context.backend, ...(context.readyTimeoutMs === undefined ? {} : { readyTimeoutMs: context.readyTimeoutMs }) }),
  processName: () => 'redis-server',
  images: async () => [{ name: 'redis', programs: ['redis-server'], files: [] }],
  versions: async () => ({ redis: await programVersion('redis-server', ['--version'], /v=(\S+)/) }),
  keySeries: [],
  scrapedByDefault: false,
};
