export { partitionInjector } from './partition.ts';
export { partitionTables, type PartitionPlan } from './rules.ts';
