export { diagnoseRun, Localizer, truthOf, LOCALIZER_DEFAULTS, type LocalizerSettings, type Ranked } from './localize.ts';
export { topologyOf, linkId, type Topology } from './topology.ts';
export { classify, anomalies, FAMILY_WEIGHT, type Family } from './evidence.ts';
