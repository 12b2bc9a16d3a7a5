export { BpfObserver, bpfAvailability, type BpfEvidenceSource, type TcpCounts } from './observer.ts';
export { BPF_PROBES, DEFAULT_BPF_PROBES, GO_FUNCTIONS, composeProgram, histQuantile, isBpfProbe, parseLine, type BpfProbe, type GoBinary } from './probes.ts';
export { goFunctions, hasSymbols, uprobeAddress, type GoFunction } from './gopclntab.ts';
