export { toxicInjector } from './toxic.ts';
export { TOXIC_ATTRIBUTES, type ToxicSpec, type ToxicKind } from './spec.ts';
