/**
 * `clusterkit/redis` — Redis adapters: BullMQ event queue, lease lock with fencing tokens (or
 * Redlock quorum), pub/sub and cache, sharing one node's connections. See docs/redis.md.
 */
import {
  assertOptions,
  ClusterError,
  ErrorCodes,
  throttledWarning,
  type ClusterAdapters,
} from 'clusterkit/adapter-kit';
import { RedisConnections, type RedisConnectionOptions } from './connection.js';
import { RedisCacheStore } from './redis-cache-store.js';
import { RedisEventQueueAdapter } from './redis-event-queue-adapter.js';
import { RedisJobStore } from './redis-job-store.js';
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
] as const;

/**
 * Redis adapters for every primitive of one node. Opens no connection until `app.start()`; all four
 * adapters share the node's connections, which close when the last adapter closes.
 */
export function createRedisAdapters(options: RedisAdaptersOptions = {}): Required<ClusterAdapters> {
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
  return {
    eventQueue: new RedisEventQueueAdapter(connections, resolveQueueOptions(options.eventQueue, onError)),
    lock: options.redlock ? new RedlockLockAdapter(connections, options.redlock) : new RedisLockAdapter(connections),
    pubSub: new RedisPubSubAdapter(connections),
    cache: new RedisCacheStore(connections),
    // Job records in Redis with one Lua script per transition (see redis-job-store.ts).
    jobStore: ({ appName }) => new RedisJobStore(connections, appName),
  };
}
