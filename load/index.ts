export { LOAD_KINDS, loadKindOf } from './registry.ts';
export type { Load, LoadContext, LoadKind, LoadResult } from './types.ts';
export { OpenModelGenerator, type RequestRecord } from './open-model.ts';
export { loadSeries, type LoadPoint } from './summarize.ts';
export { buildExecutor, describeExecutor, rateProfile, rateAt, ArrivalSchedule, type RateProfile } from './executor.ts';
export { LatencyHistogram, LoadStats, LATE_MS } from './stats.ts';
export { EtcdKvLoad, ETCD_KV_OPS, type EtcdKvLoadSpec } from './etcd-kv/index.ts';
export { HttpLoad, type HttpLoadSpec } from './http/index.ts';
export { KafkaLoad, KAFKA_OPS, type KafkaLoadSpec } from './kafka/index.ts';
