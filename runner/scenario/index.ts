export { loadScenarioFile, parseScenario, parseTarget } from './load.ts';
export type { Scenario, ServiceSpec, EtcdServiceSpec, KafkaServiceSpec, KafkaTopicSpec, LoadSpec, EtcdKvLoadSpec, KafkaLoadSpec, HttpLoadSpec, RedisServiceSpec, AppServiceSpec, ToxicSpec, FaultSpec, PartitionSpec, ProcessSpec, LeaderChurnSpec, TargetSpec, GateSpec } from './model.ts';
export { GATE_METRICS } from './gates.ts';
