export { processInjector } from './process.ts';
export type { ProcessSpec } from './spec.ts';
