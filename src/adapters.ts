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
   * A native managed-job engine (jobs kept as the broker's own jobs): Redis sets have one unless
   * `createRedisAdapters({ managedJobs: { engine: 'records' } })`. The app uses it only when its
   * `eventQueue` is the same set's event queue (`ManagedJobEngineFactory.eventQueue`); otherwise
   * managed jobs run on the record engine (`jobStore` + tickets on the event queue).
   */
  managedJobEngine?: ManagedJobEngineFactory;
}

/**
 * What an adapter factory returns: every primitive, and a native managed-job engine when its
 * backend has one (and the user did not opt out).
 */
export type FullClusterAdapters = Required<Omit<ClusterAdapters, 'managedJobEngine'>> &
  Pick<ClusterAdapters, 'managedJobEngine'>;
