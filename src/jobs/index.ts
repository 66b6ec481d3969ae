/** The managed plugin-job layer: `app.managedQueue`, `@PluginJobProcessor` and their types. */
export * from './types.js';
export * from './options.js';
export { ManagedQueue, type ManagedQueueDeps } from './managed-queue.js';
export type { CancelResult, PromoteResult, RemoveResult, RetryResult } from './job-control.js';
export type { NodeHandlerInfo, NodeInfo } from './node-list.js';
export { PluginJobProcessor } from './plugin-job-processor.js';
export { JobCancelledError, JobFailedError } from './job-runner.js';
export type { CleanOptions } from './job-queries.js';
export type { ScopedKv, ScopedKvSetOptions } from './scoped-kv.js';
export { escapeKeyPart, unescapeKeyPart } from './scoped-key.js';
export { JOB_ENVELOPE_VERSION, type JobEnvelope } from './envelope.js';
export type {
  CancelOutcome,
  ClaimRequest,
  ClaimResult,
  CreateResult,
  DiscardOutcome,
  JobFilter,
  JobRef,
  JobStore,
  JobStoreCapabilities,
  JobStoreFactory,
  PreparedTicket,
  PromoteOutcome,
  QueueCountsRow,
  Retention,
  RetryOutcome,
} from './job-store.js';
export type { JobRecord, JobAttempt } from './envelope.js';
export { MemoryJobStore, createMemoryJobStore } from './memory-job-store.js';
export {
  NativeRunFailure,
  nativeNotSupported,
  type ManagedJobEngine,
  type ManagedJobEngineContext,
  type ManagedJobEngineFactory,
  type FinishedJob,
  type ManagedJobQueries,
  type NativeActiveJob,
  type NativeHandler,
} from './native-engine.js';
export type { NativeHandlerName, NativeNoProcessorPass } from './native-no-processor.js';
export { LazyAbort } from '../lazy-abort.js';
export { resolveManagedQueueOptions } from './options.js';
export { PortableJobStore } from './portable-job-store.js';

import { isTerminal, MAX_HISTORY, parseRecord, refOf, ticketId, upgradeRecord, visibleState } from './envelope.js';
import {
  applyPark,
  applyRelease,
  decideCancel,
  decideClaim,
  decideDiscard,
  decidePromote,
  decideRetry,
  failRetention,
  matchesFilter,
  planCancel,
  rateWindow,
  sameIncarnation,
  sumCounts,
  visibleTo,
} from './job-transitions.js';
import { handlerKeyOf, logicalQueueKey } from './scoped-key.js';
import { physicalPriority } from './ticket-publisher.js';

/**
 * For job-store implementers (adapter sets): the transition rules every store must follow (as pure
 * functions over a record — a native store may reimplement them, as the Redis store's Lua does) and
 * the record helpers. The contract is `JobStore`; test/jobs/job-store.suite.ts checks a store.
 */
export const jobStoreKit = Object.freeze({
  decideClaim,
  decideCancel,
  decideRetry,
  decideDiscard,
  decidePromote,
  applyRelease,
  applyPark,
  planCancel,
  failRetention,
  matchesFilter,
  rateWindow,
  sameIncarnation,
  sumCounts,
  visibleTo,
  isTerminal,
  visibleState,
  upgradeRecord,
  parseRecord,
  refOf,
  ticketId,
  handlerKeyOf,
  logicalQueueKey,
  physicalPriority,
  MAX_HISTORY,
});
export { waitTimeoutError, WATCH_MARGIN_MS } from './wait-for-job.js';
