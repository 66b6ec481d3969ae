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
   * How `app.managedQueue` keeps jobs on this Redis. `engine: 'native'` (experimental) makes each
   * managed job a BullMQ job of its handler's own BullMQ queue (no separate record or ticket); stage
   * 1 supports enqueue, handlers (with global concurrency and rate limits), pause/resume, retry/remove/promote, outcomes, getJob, waitForJob
   * and cancel, and the other calls throw
   * `NOT_SUPPORTED` (docs/managed-jobs.md, "Native engine"). Lock and stalled-check timing apply to it.
   * @default { engine: 'default' } (job records with one script per transition, redis-job-store.ts)
   */
  managedJobs?: ManagedJobsOptions;
}

/** Options of the managed-job engine on Redis ({@link RedisAdaptersOptions.managedJobs}). */
export interface ManagedJobsOptions extends NativeEngineOptions {
  /** `'default'`: records + tickets; `'native'`: experimental BullMQ-native jobs. @default 'default' */
  engine?: 'default' | 'native';
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
  return {
    eventQueue: new RedisEventQueueAdapter(connections, resolveQueueOptions(options.eventQueue, onError)),
    lock: options.redlock ? new RedlockLockAdapter(connections, options.redlock) : new RedisLockAdapter(connections),
    pubSub: new RedisPubSubAdapter(connections),
    cache: new RedisCacheStore(connections),
    // Job records in Redis with one Lua script per transition (see redis-job-store.ts).
    jobStore: ({ appName }) => new RedisJobStore(connections, appName),
    // Experimental, opt-in: managed jobs as BullMQ jobs (native-job-engine.ts).
    ...(managed ? { managedJobEngine: (context) => new RedisNativeJobEngine(connections, context, managed) } : {}),
  };
}

/** The native engine's options when `managedJobs.engine` is `'native'`; undefined for the default engine. */
function nativeEngineOptions(given: ManagedJobsOptions | undefined): NativeEngineOptions | undefined {
  if (given === undefined) return undefined;
  const o = assertOptions('createRedisAdapters: managedJobs', given, ['engine', 'lockDurationMs', 'stalledIntervalMs']);
  if (o.engine !== undefined && o.engine !== 'default' && o.engine !== 'native') {
    throw new ClusterError(
      ErrorCodes.INVALID_OPTION,
      `managedJobs.engine must be 'default' or 'native', got ${String(o.engine)}`,
      {
        details: { option: 'managedJobs.engine' },
      },
    );
  }
  if (o.engine !== 'native') return undefined;
  return {
    ...(o.lockDurationMs === undefined
      ? {}
      : { lockDurationMs: assertDuration('managedJobs.lockDurationMs', o.lockDurationMs) }),
    ...(o.stalledIntervalMs === undefined
      ? {}
      : { stalledIntervalMs: assertDuration('managedJobs.stalledIntervalMs', o.stalledIntervalMs) }),
  };
}
