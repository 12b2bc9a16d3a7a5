import type { ServiceKindName, ServiceSpec, ServiceSpecs } from '../../core/scenario.ts';
import type { ServiceKind } from './types.ts';
import { etcdService } from './etcd/index.ts';
import { kafkaService } from './kafka/index.ts';
import { redisService } from './redis/index.ts';
import { appService } from './app/index.ts';

/**
 * Every kind of twin service, listed explicitly (no import registers itself). The scenario schema,
 * the plan, scraping, key series and eBPF filters come from these descriptors. A new kind is a
 * folder (spec.ts, index.ts and the service) plus one line here; `satisfies` checks that each
 * kind's descriptor sits under its own name.
 */
const kinds = {
  etcd: etcdService,
  kafka: kafkaService,
  redis: redisService,
  app: appService,
} satisfies { [K in ServiceKindName]: ServiceKind<ServiceSpecs[K], unknown> };

export const SERVICE_KINDS: Readonly<Record<ServiceKindName, ServiceKind>> = kinds;

/** The descriptor of a spec's kind. */
export function serviceKindOf(spec: ServiceSpec): ServiceKind {
  return SERVICE_KINDS[spec.kind];
}
