/**
 * `clusterkit/ops`: dashboard handler and server, Prometheus metrics, alert hooks, job statistics and
 * the small utilities the `clusterkit` CLI shares with them.
 */
export * from './types.js';
export * from './duration.js';
export * from './redact.js';
export * from './dashboard-auth.js';
export * from './dashboard-handler.js';
export * from './dashboard-server.js';
export { createJobStatsRecorder, type JobStatsOptions, type JobStatsRecorder } from './job-stats.js';
export {
  readJobStats,
  type DurationPercentiles,
  type JobStatsReport,
  type QueueStatsSeries,
} from './job-stats-report.js';
export * from './metrics.js';
export * from './alerts.js';
