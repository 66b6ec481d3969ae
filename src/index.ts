/**
 * `clusterkit` — the public API: the app container, the managers and their option and result types,
 * errors, the tenant context, plugins, the managed plugin-job layer, the memory adapters and the
 * tracing helpers. It never imports a broker client: Redis, RabbitMQ and PostgreSQL adapters live in
 * `clusterkit/redis`, `clusterkit/rabbitmq` and `clusterkit/postgres`; the dashboard, metrics and
 * alerts in `clusterkit/ops`.
 *
 * Every name here is re-exported from `clusterkit/adapter-kit`, which holds the one copy of the core
 * (see src/adapter-kit.ts). The build keeps that import external, so `clusterkit`, the adapters and
 * `clusterkit/ops` all load the same module at runtime: one `ClusterError` class, one set of
 * module-level state. What only adapter authors need (adapter contracts, validation helpers, the
 * envelope codec, key escaping, job-store rules) is exported from `clusterkit/adapter-kit` alone.
 */

// app
export { createApp, type AppOptions, type AppEvents, App } from 'clusterkit/adapter-kit';

// adapters
export { type ClusterAdapters } from 'clusterkit/adapter-kit';

// context
export { type Logger, silentLogger } from 'clusterkit/adapter-kit';

// errors
export {
  isClusterError,
  ErrorCodes,
  type ErrorCode,
  ClusterError,
  LockAcquireError,
  UnrecoverableError,
  QueueTimeoutError,
  type SerializedError,
} from 'clusterkit/adapter-kit';

// validation
export { MAX_DELAY_MS } from 'clusterkit/adapter-kit';

// env
export { backendsFromEnv, adaptersFromEnv, type BackendName } from 'clusterkit/adapter-kit';

// memory
export { createMemoryAdapters, type MemoryAdaptersOptions } from 'clusterkit/adapter-kit';

// memory-backend
export { createMemoryBackend, MemoryBackend } from 'clusterkit/adapter-kit';

// tenant
export { runWithTenant, currentTenant, runWithoutTenant, type TenantContext } from 'clusterkit/adapter-kit';

// plugin
export { type PluginOptions, Plugin, type PluginClass, PluginManager } from 'clusterkit/adapter-kit';

// event-queue
export {
  type EventQueueCapabilities,
  type QueueCounts,
  MAX_PRIORITY,
  MAX_RETRIES_LIMIT,
  type EventQueueDeadLetter,
  type EventQueueDefaults,
  type EventQueueManagerOptions,
  type EventQueueProcessContext,
  type EventQueuePublishOptions,
  type EventQueueSubscribeOptions,
  type BackoffInput,
  type BackoffOptions,
  type BackoffPolicy,
  EventQueueManager,
  MemoryEventQueueAdapter,
} from 'clusterkit/adapter-kit';

// lock
export {
  type LockCapabilities,
  type Lock,
  DEFAULT_LOCK_TTL_MS,
  type LockManagerOptions,
  type AcquireOptions,
  LockManager,
  MemoryLockAdapter,
} from 'clusterkit/adapter-kit';

// pub-sub
export {
  type PubSubManagerOptions,
  PubSubManager,
  type PubSubMessageMeta,
  type PubSubHandler,
  type PubSubSubscribeOptions,
  type PubSubPublishOptions,
  type Transaction,
  type SyncMessagePublishOptions,
  type SyncMessageManagerOptions,
  SyncMessageManager,
  MemoryPubSubAdapter,
} from 'clusterkit/adapter-kit';

// cache
export {
  type StoreSetOptions,
  type CacheStore,
  type StoreCasOptions,
  type CacheManagerOptions,
  type CreateCounterOptions,
  type CreateCacheOptions,
  CacheManager,
  type WrapConditionOptions,
  type CacheEntry,
  Cache,
  type Counter,
  DEFAULT_MEMORY_CACHE_MAX_ENTRIES,
  type MemoryCacheStoreOptions,
  MemoryCacheStore,
} from 'clusterkit/adapter-kit';

// tracing
export {
  loadOpenTelemetry,
  tracingEnabled,
  jobSpanName,
  injectTraceContext,
  captureTraceContext,
  runInSpan,
  jobSpanAttributes,
  type TraceCarrier,
  type RunInSpanOptions,
} from 'clusterkit/adapter-kit';

// jobs
export {
  ManagedQueue,
  type CancelResult,
  type PromoteResult,
  type RemoveResult,
  type RetryResult,
  type NodeHandlerInfo,
  type NodeInfo,
  PluginJobProcessor,
  JobCancelledError,
  JobFailedError,
  type CleanOptions,
  type ScopedKv,
  type ScopedKvSetOptions,
  type ManagedJobState,
  type EnqueueInput,
  type JobTransaction,
  type EnqueueOptions,
  type ManagedQueueJob,
  type ManagedJobContext,
  MAX_JOB_LOG_LINES,
  MAX_JOB_LOG_LINE_BYTES,
  type ManagedJobHandlerContext,
  type ManagedJobHandler,
  type RateLimit,
  type ProcessorOptions,
  type ManagedJobInfo,
  type JobAttemptInfo,
  type ListJobsFilter,
  type MetricsFilter,
  type JobCounts,
  type QueueStats,
  type LogicalQueue,
  type ScheduleInput,
  type ScheduleInfo,
  type KeyScope,
  type ManagedQueueEvents,
  type ManagedQueueOptions,
} from 'clusterkit/adapter-kit';
