export { partitionInjector } from './partition.ts';
export type { PartitionSpec } from './spec.ts';
