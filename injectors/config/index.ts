export { configInjector } from './config.ts';
export type { ConfigSpec } from './spec.ts';
