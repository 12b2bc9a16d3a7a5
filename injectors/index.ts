export { injectorFor } from './registry.ts';
export { isVerifiable, type ActiveFault, type Evidence, type InjectionContext, type Injector, type ResolvedTarget, type Verifiable } from './types.ts';
