import type { LoadKindName, LoadSpec, LoadSpecs } from '../core/scenario.ts';
import type { LoadKind } from './types.ts';
import { etcdKvLoad } from './etcd-kv/index.ts';
import { httpLoad } from './http/index.ts';
import { kafkaLoad } from './kafka/index.ts';

/** Every kind of load, listed explicitly. A new kind is a folder plus one line here. */
const kinds = {
  'etcd-kv': etcdKvLoad,
  http: httpLoad,
  kafka: kafkaLoad,
} satisfies { [K in LoadKindName]: LoadKind<LoadSpecs[K], unknown> };

export const LOAD_KINDS: Readonly<Record<LoadKindName, LoadKind>> = kinds;

export function loadKindOf(spec: LoadSpec): LoadKind {
  return LOAD_KINDS[spec.kind];
}
