/**
 * `clusterkit/redis` — Redis adapters: BullMQ event queue, lease lock with fencing tokens (or
 * Redlock quorum), pub/sub and cache, sharing one node's connections. See docs/redis.md.
 */
import {
  assertDuration,
  assertOptions,
  ClusterError,
  ErrorCodes,
  throttledWarning,
  type FullClusterAdapters,
  type ManagedJobEngineContext,
  type ManagedJobEngineFactory,
} from 'clusterkit/adapter-kit';
import { RedisConnections, type RedisConnectionOptions } from './connection.js';
import { RedisCacheStore } from './redis-cache-store.js';
import { RedisEventQueueAdapter } from './redis-event-queue-adapter.js';
import { RedisJobStore } from './redis-job-store.js';
import { RedisNativeJobEngine, type NativeEngineOptions } from './native-job-engine.js';
import { resolveQueueOptions, type RedisEventQueueOptions } from './redis-event-queue-options.js';
import { RedisLockAdapter } from './redis-lock-adapter.js';
import { RedisPubSubAdapter } from './redis-pub-sub-adapter.js';
import { RedlockLockAdapter, type RedlockOptions } from './redlock-lock-adapter.js';

export type { RedisClient, RedisConnectionOptions } from './connection.js';
export type { RedisEventQueueOptions, RetentionOptions } from './redis-event-queue-options.js';
export type { RedlockOptions } from './redlock-lock-adapter.js';
export { RedisCacheStore } from './redis-cache-store.js';
export { RedisEventQueueAdapter } from './redis-event-queue-adapter.js';
export { RedisJobStore } from './redis-job-store.js';
export { RedisNativeJobEngine, type NativeEngineOptions } from './native-job-engine.js';
export { RedisLockAdapter } from './redis-lock-adapter.js';
export { RedisPubSubAdapter } from './redis-pub-sub-adapter.js';
export { RedlockLockAdapter } from './redlock-lock-adapter.js';

/** Options of {@link createRedisAdapters}. */
export interface RedisAdaptersOptions extends RedisConnectionOptions {
  /**
   * Prefix of every key and channel the adapters write. Nodes of one cluster share it; a different
   * prefix isolates (tests use a random one).
   * @default 'ck'
   */
  prefix?: string;
  /** BullMQ tuning: lock duration, stalled checks, retention, watchdog. */
  eventQueue?: RedisEventQueueOptions;
  /** Quorum locks over several independent Redis nodes instead of the single-Redis lease. */
  redlock?: RedlockOptions;
  /**
   * Where background failures of the adapters go (BullMQ worker errors, a replaced stuck worker).
   * @default a warning on stderr, at most once per 10 s per message
   */
  onError?: (error: unknown, meta: Record<string, unknown>) => void;
  /**
   * How `app.managedQueue` keeps jobs on this Redis. `engine: 'native'` (the default) makes each
   * managed job a BullMQ job of its handler's own BullMQ queue (no separate record or ticket; every
   * managedQueue call, see adapters/redis/native-job-engine.ts); its lock duration and stalled-check
   * interval are set here. `engine: 'records'` keeps job records in Redis with one script per
   * transition (redis-job-store.ts) and tickets on the event queue.
   *
   * The native engine is used only when the app's event queue is this set's own (BullMQ) event queue:
   * in a mixed set such as `{ ...createRedisAdapters(), eventQueue: rabbit.eventQueue }` managed jobs
   * run on the record engine (records in this Redis, tickets on the app's event queue) whatever
   * `engine` says.
   * @default { engine: 'native' } (lock 30 s, stalled check every 30 s)
   */
  managedJobs?: ManagedJobsOptions;
}

/** Options of the managed-job engine on Redis ({@link RedisAdaptersOptions.managedJobs}). */
export interface ManagedJobsOptions extends NativeEngineOptions {
  /**
   * `'native'`: each managed job is a BullMQ job of its handler's queue; `'records'`: job records
   * in Redis plus tickets on the event queue (also what a mixed adapter set runs). `lockDurationMs`
   * and `stalledIntervalMs` apply to `'native'` only (given with `'records'`: `INVALID_OPTION`).
   * @default 'native'
   */
  engine?: 'native' | 'records';
}

const OPTION_KEYS = [
  'url',
  'options',
  'cluster',
  'client',
  'connectTimeoutMs',
  'prefix',
  'eventQueue',
  'redlock',
  'onError',
  'managedJobs',
] as const;

/**
 * Redis adapters for every primitive of one node. Opens no connection until `app.start()`; all four
 * adapters share the node's connections, which close when the last adapter closes.
 */
export function createRedisAdapters(options: RedisAdaptersOptions = {}): FullClusterAdapters {
  assertOptions('createRedisAdapters', options, OPTION_KEYS);
  const sources = [options.url, options.options, options.cluster, options.client].filter((s) => s !== undefined);
  if (sources.length > 1) {
    throw new ClusterError(
      ErrorCodes.INVALID_OPTION,
      'createRedisAdapters: give only one of url, options, cluster, client',
    );
  }
  const prefix = options.prefix ?? 'ck';
  if (typeof prefix !== 'string' || prefix.length === 0 || /[\s{}]/.test(prefix)) {
    throw new ClusterError(
      ErrorCodes.INVALID_OPTION,
      `createRedisAdapters: prefix must be a non-empty string without spaces or braces`,
      {
        details: { option: 'prefix' },
      },
    );
  }
  const onError = options.onError ?? throttledWarning('clusterkit/redis');
  const connections = new RedisConnections(options, prefix);
  const managed = nativeEngineOptions(options.managedJobs);
  const eventQueue = new RedisEventQueueAdapter(connections, resolveQueueOptions(options.eventQueue, onError));
  return {
    eventQueue,
    lock: options.redlock ? new RedlockLockAdapter(connections, options.redlock) : new RedisLockAdapter(connections),
    pubSub: new RedisPubSubAdapter(connections),
    cache: new RedisCacheStore(connections),
    // The record engine's store: job records in Redis with one Lua script per transition (see
    // redis-job-store.ts). Used with `engine: 'records'`, and when the app's event queue is not this set's.
    jobStore: ({ appName }) => new RedisJobStore(connections, appName),
    // The default: managed jobs as BullMQ jobs (native-job-engine.ts), paired with this set's event queue.
    ...(managed ? { managedJobEngine: nativeEngineFactory(connections, eventQueue, managed) } : {}),
  };
}

/** The native engine's factory, tagged with the event queue it pairs with (ManagedJobEngineFactory.eventQueue). */
function nativeEngineFactory(
  connections: RedisConnections,
  eventQueue: RedisEventQueueAdapter,
  options: NativeEngineOptions,
): ManagedJobEngineFactory {
  return Object.assign((context: ManagedJobEngineContext) => new RedisNativeJobEngine(connections, context, options), {
    eventQueue,
  });
}

/**
 * The native engine's options when `managedJobs.engine` is `'native'` (the default); undefined for
 * `'records'`. Throws `INVALID_OPTION` for any other engine (the old `'default'` included) and for
 * native timings given with `'records'` (they would silently do nothing).
 */
function nativeEngineOptions(given: ManagedJobsOptions | undefined): NativeEngineOptions | undefined {
  if (given === undefined) return {};
  const o = assertOptions('createRedisAdapters: managedJobs', given, ['engine', 'lockDurationMs', 'stalledIntervalMs']);
  const engine: unknown = o.engine ?? 'native';
  if (engine !== 'native' && engine !== 'records') {
    const renamed =
      engine === 'default'
        ? " ('default' is gone: the record engine is now 'records', and 'native' is the default)"
        : '';
    throw new ClusterError(
      ErrorCodes.INVALID_OPTION,
      `createRedisAdapters: managedJobs.engine must be 'native' (the default) or 'records', got ${describe(engine)}${renamed}`,
      { details: { option: 'managedJobs.engine' } },
    );
  }
  if (engine === 'records') {
    const timing = (['lockDurationMs', 'stalledIntervalMs'] as const).find((k) => o[k] !== undefined);
    if (timing !== undefined) {
      throw new ClusterError(
        ErrorCodes.INVALID_OPTION,
        `createRedisAdapters: managedJobs.${timing} applies to engine 'native' only, not to engine 'records'`,
        { details: { option: `managedJobs.${timing}` } },
      );
    }
    return undefined;
  }
  return {
    ...(o.lockDurationMs === undefined
      ? {}
      : { lockDurationMs: assertDuration('managedJobs.lockDurationMs', o.lockDurationMs) }),
    ...(o.stalledIntervalMs === undefined
      ? {}
      : { stalledIntervalMs: assertDuration('managedJobs.stalledIntervalMs', o.stalledIntervalMs) }),
  };
}

/** A bad option value as shown in an error message. */
function describe(value: unknown): string {
  return typeof value === 'string' ? `'${value}'` : String(value);
}
