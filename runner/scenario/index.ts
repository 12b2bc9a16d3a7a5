export { loadScenarioFile, parseScenario, parseTarget } from './load.ts';
export type { Scenario, ServiceSpec, LoadSpec, FaultSpec, PartitionSpec, ProcessSpec, LeaderChurnSpec, TargetSpec, GateSpec } from './model.ts';
export { GATE_METRICS } from './gates.ts';
