export { runScenario, checkEnvironment, describePlan, runLengthMs, type RunOptions } from './run.ts';
export { loadScenarioFile, parseScenario, parseTarget, parseYamlFile, formatPath, GATE_METRICS, type ParseOptions } from './scenario/index.ts';
export { progressObserver, fanOut, type RunObserver } from './observers.ts';
export { FakeClock, realClock, type Clock } from './clock.ts';
export { evaluateGates, summarizeLoad, verdictOf, scoreAlerts, alertDetector } from './analyze.ts';
export { replayAlerts, type ReplayResult } from './alerts-replay.ts';
export { summarizeRepeats } from './repeat.ts';
export { FakeTwin } from './testing/fake-twin.ts';
