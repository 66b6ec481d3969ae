/** The managed plugin-job layer: `app.managedQueue`, `@PluginJobProcessor` and their types. */
export * from './types.js';
export * from './options.js';
export { ManagedQueue, type ManagedQueueDeps } from './managed-queue.js';
export type { CancelResult, RetryResult } from './job-control.js';
export { PluginJobProcessor } from './plugin-job-processor.js';
export { JobCancelledError, JobFailedError } from './job-runner.js';
export type { CleanOptions } from './job-queries.js';
export type { ScopedKv, ScopedKvSetOptions } from './scoped-kv.js';
export { escapeKeyPart, unescapeKeyPart } from './scoped-key.js';
export { JOB_ENVELOPE_VERSION, type JobEnvelope } from './envelope.js';
