export { BpfObserver, bpfAvailability, type BpfEvidenceSource, type TcpCounts } from './observer.ts';
export { BPF_PROBES, PLANNED_PROBES, composeProgram, histQuantile, parseLine, type BpfProbe } from './probes.ts';
