export { processInjector } from './process.ts';
