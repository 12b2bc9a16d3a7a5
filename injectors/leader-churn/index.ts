export { leaderChurnInjector } from './leader-churn.ts';
export type { LeaderChurnSpec } from './spec.ts';
