/**
 * `clusterkit` — the root entry. It never imports a broker client: Redis and RabbitMQ adapters live
 * in `clusterkit/redis` and `clusterkit/rabbitmq`.
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

export * from './jobs/index.js';
