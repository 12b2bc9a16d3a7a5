export { loadScenarioFile, parseScenario, parseTarget, parseYamlFile, formatPath, MAX_SCENARIO_BYTES, type ParseOptions } from './load.ts';
export { GATE_METRICS } from './gates.ts';
export type { Scenario, ServiceSpec, LoadSpec, FaultSpec, DetectorSpec, TargetSpec, GateSpec } from '../../core/scenario.ts';
