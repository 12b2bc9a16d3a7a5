export { History, HistoryError, MIGRATIONS, QUERIES, labelKey, parseLabelKey, metricsOf, scenarioHash, type RunRow, type SeriesPoint, type RunMetric } from './db.ts';
export { detectRegression, regressionWindow, mannWhitneyGreater, worseWhen, REGRESSION_DEFAULTS, type Regression, type RegressionSettings } from './trends.ts';
export { Scheduler, inWindow, SCHEDULER_QUERIES, type Schedule, type ScheduleEntry, type QueueItem, type QueueState, type Executor, type SchedulerStatus } from './scheduler.ts';
export { indicators, type Indicators } from './indicators.ts';
export { startDashboard, LiveFeed, trendSvg, type DashboardOptions, type LiveMessage, type LiveState } from './server.ts';
