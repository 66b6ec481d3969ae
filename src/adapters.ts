/**
 * The one adapter selection mechanism: an app is given adapter instances, one per primitive,
 * and falls back to memory for any it is not given.
 */
import type { CacheStore } from './cache/types.js';
import type { EventQueueAdapter } from './event-queue/types.js';
import type { JobStoreFactory } from './jobs/job-store.js';
import type { ManagedJobEngineFactory } from './jobs/native-engine.js';
import type { LockAdapter } from './lock/types.js';
import type { PubSubAdapter } from './pub-sub/types.js';

/**
 * Adapter instances for one node. Spread several factories' results to mix backends:
 * `{ ...createRedisAdapters({ url }), ...createRabbitMQAdapters({ url: amqpUrl }) }` — later keys win.
 */
export interface ClusterAdapters {
  eventQueue?: EventQueueAdapter;
  lock?: LockAdapter;
  pubSub?: PubSubAdapter;
  /** Default store of `app.cache` and of `createCache()` without `store`. */
  cache?: CacheStore;
  /**
   * Where `app.managedQueue` keeps job records (see `JobStore`): a native store with atomic
   * transitions. Without it: memory when the cache is memory, else a portable store over `cache`.
   */
  jobStore?: JobStoreFactory;
  /**
   * Experimental: a native managed-job engine (jobs kept as the broker's own jobs), present only
   * when the user opted in (`createRedisAdapters({ managedJobs: { engine: 'native' } })`). See
   * docs/managed-jobs.md, "Native engine (experimental)".
   */
  managedJobEngine?: ManagedJobEngineFactory;
}

/**
 * What an adapter factory returns: every primitive, and a native managed-job engine only when the
 * user opted into one.
 */
export type FullClusterAdapters = Required<Omit<ClusterAdapters, 'managedJobEngine'>> &
  Pick<ClusterAdapters, 'managedJobEngine'>;
