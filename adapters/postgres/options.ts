/**
 * Options of `createPostgresAdapters()`, their defaults (milliseconds everywhere) and the checks
 * that refuse bad values when the adapters are made, before any connection.
 */
import type pg from 'pg';
import { assertInteger, assertOptions, ClusterError, ErrorCodes, throttledWarning } from 'clusterkit/adapter-kit';
import type { PgConnectionSettings } from './connection.js';
import type { RetentionLimit } from './maintenance.js';
import { assertSchemaName } from './names.js';

/** How many finished messages to keep. Both limits apply when both are given. */
export interface PostgresRetentionOptions {
  /** Most kept per queue; older ones are removed by the maintenance sweep. */
  count?: number;
  /** Longest kept after finishing, in ms. Omitted = no age limit. */
  ageMs?: number;
}

/** Tuning of the PostgreSQL event queue. */
export interface PostgresEventQueueOptions {
  /**
   * How long a consumer's lease on a message lasts without renewal, in ms. Renewed every third of
   * it while the handler runs; a node that dies mid-message loses it after this long and the
   * message is delivered again (same attempt). An event loop blocked for longer makes the message
   * look abandoned too, so it may run twice (at-least-once).
   * @default 30000
   */
  leaseMs?: number;
  /** How often each consumer looks for lapsed leases on its queue, in ms. @default 5000 */
  reapIntervalMs?: number;
  /** How many times a message may be abandoned (its node dying) before it is dead-lettered. @default 10 */
  maxStalledCount?: number;
  /**
   * Backstop poll, in ms: consumers are woken by NOTIFY; this only bounds how long a lost
   * notification (a LISTEN connection that was down) can delay a message.
   * @default 2000
   */
  pollIntervalMs?: number;
  /** Acknowledged messages kept (table `completed`) for inspection. @default { count: 0 } */
  keepCompleted?: PostgresRetentionOptions;
  /** Dead letters kept. @default { count: 100000 } */
  keepDead?: PostgresRetentionOptions;
  /**
   * Whether `publish` (outside a caller's transaction) resolves only once its commit is flushed to
   * disk. `false` commits on the consumers' pool (`synchronous_commit = off`): the publish no longer
   * waits for the WAL flush (the largest part of publish→handler latency on a busy disk), but a
   * database server *crash* (not a restart) can lose publishes of the last few hundred ms that had
   * already resolved. A publish in the caller's transaction follows that transaction's own setting.
   * @default true
   */
  durablePublish?: boolean;
}

/** Options of {@link createPostgresAdapters}. Give `connectionString` or `pool`. */
export interface PostgresAdaptersOptions {
  /** `postgres://user:password@host:5432/database`. */
  connectionString?: string;
  /**
   * An existing `pg.Pool` (the app's own, as NocoBase has one): the adapters run their statements
   * on it and never end it; they open one extra dedicated connection per node for LISTEN, with the
   * pool's settings.
   */
  pool?: pg.Pool;
  /**
   * The schema holding every table and function of the adapters; created at `app.start()`. Nodes
   * of one cluster share it; a different schema isolates (tests use a random one).
   * @default 'clusterkit'
   */
  schema?: string;
  /** Size of the pool the adapters make (ignored with `pool`). @default 10 */
  poolSize?: number;
  /**
   * Size of the consumers' own pool (their statements are short: one round trip, no flush wait);
   * connections open on demand and close after 10 s idle.
   * @default 4
   */
  consumerPoolSize?: number;
  /** How long connecting waits, in ms. @default 10000 */
  connectTimeoutMs?: number;
  /** How often the maintenance sweep runs (retention, expired cache rows, ...), in ms; 0 = never. @default 10000 */
  maintenanceIntervalMs?: number;
  eventQueue?: PostgresEventQueueOptions;
  /**
   * Where background failures go (a lost LISTEN connection, a failed sweep).
   * @default a warning on stderr, at most once per 10 s per message
   */
  onError?: (error: unknown, meta: Record<string, unknown>) => void;
}

/** Event-queue settings after defaults. */
export interface ResolvedQueueOptions {
  readonly leaseMs: number;
  readonly reapIntervalMs: number;
  readonly maxStalledCount: number;
  readonly pollIntervalMs: number;
  readonly keepCompleted: RetentionLimit;
  readonly keepDead: RetentionLimit;
  readonly durablePublish: boolean;
  readonly onError: (error: unknown, meta: Record<string, unknown>) => void;
}

/** Everything resolved. */
export interface ResolvedPostgresOptions {
  readonly connection: PgConnectionSettings;
  readonly queue: ResolvedQueueOptions;
}

const KEYS = [
  'connectionString',
  'pool',
  'schema',
  'poolSize',
  'consumerPoolSize',
  'connectTimeoutMs',
  'maintenanceIntervalMs',
  'eventQueue',
  'onError',
] as const;
const QUEUE_KEYS = [
  'leaseMs',
  'reapIntervalMs',
  'maxStalledCount',
  'pollIntervalMs',
  'keepCompleted',
  'keepDead',
  'durablePublish',
] as const;

/** Checks the options and fills in defaults. */
export function resolveOptions(options: PostgresAdaptersOptions): ResolvedPostgresOptions {
  const o = assertOptions('createPostgresAdapters', options, KEYS);
  if ((o.connectionString === undefined) === (o.pool === undefined)) {
    throw new ClusterError(
      ErrorCodes.INVALID_OPTION,
      'createPostgresAdapters: give exactly one of connectionString, pool',
      {
        details: { option: 'connectionString' },
      },
    );
  }
  if (o.connectionString !== undefined && (typeof o.connectionString !== 'string' || o.connectionString === '')) {
    throw new ClusterError(
      ErrorCodes.INVALID_OPTION,
      'createPostgresAdapters: connectionString must be a non-empty string',
      {
        details: { option: 'connectionString' },
      },
    );
  }
  if (o.pool !== undefined && (typeof o.pool !== 'object' || o.pool === null || typeof o.pool.connect !== 'function')) {
    throw new ClusterError(ErrorCodes.INVALID_OPTION, 'createPostgresAdapters: pool must be a pg.Pool', {
      details: { option: 'pool' },
    });
  }
  const onError = o.onError ?? throttledWarning('clusterkit/postgres');
  const q = assertOptions('createPostgresAdapters eventQueue', o.eventQueue ?? {}, QUEUE_KEYS);
  const int = (name: string, value: number | undefined, fallback: number, min: number) =>
    value === undefined ? fallback : assertInteger(name, value, min);
  const leaseMs = int('eventQueue.leaseMs', q.leaseMs, 30_000, 100);
  return {
    connection: {
      ...(o.connectionString !== undefined ? { connectionString: o.connectionString } : {}),
      ...(o.pool !== undefined ? { pool: o.pool } : {}),
      schema: assertSchemaName(o.schema ?? 'clusterkit'),
      poolSize: int('poolSize', o.poolSize, 10, 1),
      consumerPoolSize: int('consumerPoolSize', o.consumerPoolSize, 4, 1),
      connectTimeoutMs: int('connectTimeoutMs', o.connectTimeoutMs, 10_000, 1),
      maintenanceIntervalMs: int('maintenanceIntervalMs', o.maintenanceIntervalMs, 10_000, 0),
      retention: {
        completed: retention('eventQueue.keepCompleted', q.keepCompleted, 0),
        dead: retention('eventQueue.keepDead', q.keepDead, 100_000),
      },
      onError,
    },
    queue: {
      leaseMs,
      reapIntervalMs: int('eventQueue.reapIntervalMs', q.reapIntervalMs, Math.min(5_000, leaseMs), 10),
      maxStalledCount: int('eventQueue.maxStalledCount', q.maxStalledCount, 10, 0),
      pollIntervalMs: int('eventQueue.pollIntervalMs', q.pollIntervalMs, 2_000, 10),
      keepCompleted: retention('eventQueue.keepCompleted', q.keepCompleted, 0),
      keepDead: retention('eventQueue.keepDead', q.keepDead, 100_000),
      durablePublish: flag('eventQueue.durablePublish', q.durablePublish, true),
      onError,
    },
  };
}

function retention(name: string, value: PostgresRetentionOptions | undefined, count: number): RetentionLimit {
  if (value === undefined) return { count, ageMs: undefined };
  assertOptions(name, value, ['count', 'ageMs'] as const);
  return {
    count: value.count === undefined ? count : assertInteger(`${name}.count`, value.count, 0),
    ageMs: value.ageMs === undefined ? undefined : assertInteger(`${name}.ageMs`, value.ageMs, 1),
  };
}

function flag(name: string, value: boolean | undefined, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') {
    throw new ClusterError(ErrorCodes.INVALID_OPTION, `createPostgresAdapters: ${name} must be a boolean`, {
      details: { option: name },
    });
  }
  return value;
}
