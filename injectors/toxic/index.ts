export { toxicInjector } from './toxic.ts';
