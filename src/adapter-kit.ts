/**
 * `clusterkit/adapter-kit` — for adapter authors: everything `clusterkit` exports, plus what an
 * adapter needs and an app does not: the adapter contracts (`EventQueueAdapter`, `LockAdapter`,
 * `PubSubAdapter`, `CacheStore`, `JobStore`), the input checks the managers use (`assertName`,
 * `assertOptions`, ...), the envelope codec, key escaping (`escapeKeyPart`, `appScopedName`), the
 * job-store transition rules (`jobStoreKit`), `SharedConnectionAdapter`, `standaloneContext` and
 * `throttledWarning`. See docs/adapter-kit.md.
 *
 * This entry holds the one copy of the core at runtime: the `clusterkit` root re-exports its public
 * part from here (kept external by the build), and `clusterkit/redis`, `clusterkit/rabbitmq`,
 * `clusterkit/postgres`, `clusterkit/nocobase` and `clusterkit/ops` import the core through the
 * package names, so module-level state and classes exist once per build format.
 */
export * from './app.js';
export * from './adapters.js';
export * from './context.js';
export * from './errors.js';
export * from './validation.js';
export { appScopedName, cacheNamespace } from './names.js';
export * from './throttled-warning.js';
export * from './env.js';
export * from './memory.js';
export * from './memory-backend.js';
export * from './tenant/tenant-context.js';
export * from './plugin/plugin.js';
export * from './plugin/plugin-manager.js';

export type * from './event-queue/types.js';
export * from './event-queue/event-queue-manager.js';
export * from './event-queue/memory-adapter.js';

export type * from './lock/types.js';
export * from './lock/lock-manager.js';
export * from './lock/memory-adapter.js';

export type * from './pub-sub/types.js';
export * from './pub-sub/pub-sub-manager.js';
export * from './pub-sub/sync-message-manager.js';
export * from './pub-sub/memory-adapter.js';

export type * from './cache/types.js';
export * from './cache/cache-manager.js';
export * from './cache/cache.js';
export * from './cache/counter.js';
export * from './cache/memory-store.js';
export * from './tracing.js';
export * from './shared-connection-adapter.js';
export { processGlobal } from './process-global.js';
export {
  LOCK_ACQUIRED_CHANNEL,
  PUBSUB_MESSAGE_CHANNEL,
  type LockAcquiredEvent,
  type PubSubMessageEvent,
} from './diagnostics.js';
export { handlerKey, namespacedJobId } from './jobs/scoped-key.js';
export { backoffDelay, DEFAULT_BACKOFF, type BackoffPolicy } from './event-queue/backoff.js';
export { DEFAULT_JOB_PRIORITY } from './jobs/enqueue-input.js';
export { clipLogLine } from './jobs/job-runner.js';

export * from './jobs/index.js';
