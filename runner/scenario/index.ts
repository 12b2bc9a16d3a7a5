export { loadScenarioFile, parseScenario, parseTarget } from './load.ts';
export type { Scenario, ServiceSpec, EtcdServiceSpec, KafkaServiceSpec, KafkaTopicSpec, LoadSpec, EtcdKvLoadSpec, KafkaLoadSpec, FaultSpec, PartitionSpec, ProcessSpec, LeaderChurnSpec, TargetSpec, GateSpec } from './model.ts';
export { GATE_METRICS } from './gates.ts';
