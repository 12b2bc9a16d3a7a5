export { leaderChurnInjector } from './leader-churn.ts';
