import * as z from 'zod';

/** Debian's redis-server, one member, no persistence. */
export interface RedisServiceSpec {
  name: string;
  kind: 'redis';
  replicas: 1;
}

declare module '../../../core/scenario.ts' {
  interface ServiceSpecs {
    redis: RedisServiceSpec;
  }
}

export const redisSchema = z.strictObject({ kind: z.literal('redis') });
