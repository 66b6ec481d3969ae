/**
 * The connections of one node's PostgreSQL adapters. Every adapter made by one
 * `createPostgresAdapters()` call shares them, refcounted: the first `connect()` opens the pool
 * (or borrows the app's), runs the migrations, starts the LISTEN connection and the maintenance
 * sweep; the last `close()` stops them and ends the pool if it is ours.
 */
import pg from 'pg';
import { ClusterError, isClusterError, ErrorCodes } from 'clusterkit/adapter-kit';
import { PgListener } from './listener.js';
import { Maintenance, type RetentionSettings } from './maintenance.js';
import { migrate } from './migrations.js';
import { notifyChannels, qualify } from './names.js';

/** Anything with pg's `query(text, values)`: a Pool, a Client or a PoolClient. */
export interface Queryable {
  query<R extends pg.QueryResultRow = any>(text: string, values?: unknown[]): Promise<pg.QueryResult<R>>;
}

/** What the connections need to know. */
export interface PgConnectionSettings {
  readonly connectionString?: string;
  readonly pool?: pg.Pool;
  readonly poolSize: number;
  readonly consumerPoolSize: number;
  readonly schema: string;
  readonly connectTimeoutMs: number;
  readonly maintenanceIntervalMs: number;
  readonly retention: RetentionSettings;
  readonly onError: (error: unknown, meta: Record<string, unknown>) => void;
}

/** SQLSTATE classes that mean "the server or the connection is gone", not "the statement is wrong". */
const UNAVAILABLE_STATES = /^(08|53|57P0[1-3]|57014)/;

/** Runs `fn`; a failure becomes a `ClusterError` (`BACKEND_UNAVAILABLE`) naming `what`. */
export async function guard<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    if (isClusterError(error)) throw error;
    const e = error as { message?: string; code?: string };
    const state = typeof e.code === 'string' && /^[0-9A-Z]{5}$/.test(e.code) ? e.code : undefined;
    const kind = state === undefined || UNAVAILABLE_STATES.test(state) ? 'unavailable' : `error ${state}`;
    throw new ClusterError(ErrorCodes.BACKEND_UNAVAILABLE, `PostgreSQL ${what} failed (${kind}): ${causeText(error)}`, {
      cause: error,
      details: state ? { sqlState: state } : {},
    });
  }
}

/**
 * A driver error as one line naming its cause: the message, plus the system code when the message
 * lacks it; an AggregateError (every address of a host refused) by its first error.
 */
function causeText(error: unknown): string {
  if (error instanceof AggregateError && error.errors.length && !error.message) return causeText(error.errors[0]);
  if (!(error instanceof Error)) return String(error);
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' && !/^[0-9A-Z]{5}$/.test(code) && !error.message.includes(code)
    ? `${error.message} (${code})`
    : error.message;
}

/** Shared, refcounted connections of one node. */
export class PgConnections {
  /** The schema, quoted, ready to prefix table names: `"clusterkit"`. */
  readonly schema: string;
  /** LISTEN/NOTIFY channel names of this schema (identifier-safe, whatever the schema is called). */
  readonly channels: { readonly queue: string; readonly lock: string; readonly pubsub: string };
  private poolValue: pg.Pool | undefined;
  private relaxedPool: pg.Pool | undefined;
  private listenerValue: PgListener | undefined;
  private maintenance: Maintenance | undefined;
  private refs = 0;
  private opening: Promise<void> | undefined;

  constructor(readonly settings: PgConnectionSettings) {
    this.schema = qualify(settings.schema);
    this.channels = notifyChannels(settings.schema);
  }

  /** The pool; throws `NOT_CONNECTED` before the first `open()` finishes. */
  get pool(): pg.Pool {
    if (!this.poolValue) throw new ClusterError(ErrorCodes.NOT_CONNECTED, 'PostgreSQL adapters are not connected');
    return this.poolValue;
  }

  /** The node's LISTEN connection. */
  get listener(): PgListener {
    if (!this.listenerValue) throw new ClusterError(ErrorCodes.NOT_CONNECTED, 'PostgreSQL adapters are not connected');
    return this.listenerValue;
  }

  /** `"schema".name` */
  table(name: string): string {
    return `${this.schema}.${name}`;
  }

  /** Runs one statement on the pool, failures as `BACKEND_UNAVAILABLE`. */
  query<R extends pg.QueryResultRow = any>(what: string, text: string, values?: unknown[]): Promise<pg.QueryResult<R>> {
    const pool = this.pool;
    return guard(what, () => pool.query<R>(text, values));
  }

  /**
   * Runs one statement on the consumer pool, whose sessions commit without waiting for the WAL
   * flush (`synchronous_commit = off`): for consumer-side state changes only (take, settle, renew,
   * reap), where a server crash losing the last few commits is harmless — those messages are
   * delivered again (at-least-once) — and the flush would otherwise dominate every message's cost.
   * Publishes and lock operations stay on the main pool, durable. The consumer pool is the
   * adapters' own (also when the app gave its `pool`), so no setting ever touches the app's sessions.
   */
  queryRelaxed<R extends pg.QueryResultRow = any>(
    what: string,
    text: string,
    values?: unknown[],
  ): Promise<pg.QueryResult<R>> {
    const pool = this.relaxedPool;
    if (!pool) throw new ClusterError(ErrorCodes.NOT_CONNECTED, 'PostgreSQL adapters are not connected');
    return guard(what, () => pool.query<R>(text, values));
  }

  /** Runs the maintenance sweep now (tools, tests); false when another node was sweeping. */
  async sweepNow(): Promise<boolean> {
    if (!this.maintenance) throw new ClusterError(ErrorCodes.NOT_CONNECTED, 'PostgreSQL adapters are not connected');
    return this.maintenance.sweep();
  }

  /** Takes a reference; the first one opens everything. */
  async open(): Promise<void> {
    this.refs += 1;
    try {
      this.opening ??= this.doOpen();
      await this.opening;
    } catch (error) {
      this.refs -= 1;
      this.opening = undefined;
      throw error;
    }
  }

  /** Gives a reference back; the last one closes everything (every step bounded). */
  async release(): Promise<void> {
    if (this.refs === 0) return;
    this.refs -= 1;
    if (this.refs > 0) return;
    const opening = this.opening;
    this.opening = undefined;
    await opening?.catch(() => {});
    await this.maintenance?.stop();
    this.maintenance = undefined;
    await this.listenerValue?.close();
    this.listenerValue = undefined;
    const pool = this.poolValue;
    this.poolValue = undefined;
    const relaxed = this.relaxedPool;
    this.relaxedPool = undefined;
    await Promise.all([
      pool && !this.settings.pool ? withBound(pool.end(), 5_000) : undefined,
      relaxed ? withBound(relaxed.end(), 5_000) : undefined,
    ]);
  }

  private async doOpen(): Promise<void> {
    const s = this.settings;
    const pool =
      s.pool ??
      new pg.Pool({
        connectionString: s.connectionString,
        max: s.poolSize,
        connectionTimeoutMillis: s.connectTimeoutMs,
      });
    // An idle client of our own pool losing its server must not crash the process; the next
    // query gets a fresh connection. (An app's own pool is the app's to watch.)
    if (!s.pool) pool.on('error', (error) => s.onError(error, { source: 'pool' }));
    this.poolValue = pool;
    const relaxed = new pg.Pool({
      ...clientConfig(pool, s, 'clusterkit-consumer'),
      max: s.consumerPoolSize,
      options: '-c synchronous_commit=off',
    });
    relaxed.on('error', (error) => s.onError(error, { source: 'consumer pool' }));
    this.relaxedPool = relaxed;
    try {
      await guard(`connect to ${describeTarget(pool)}`, () => migrate(pool, s.schema));
      const listener = new PgListener(clientConfig(pool, s, 'clusterkit-listen'), s.onError);
      this.listenerValue = listener;
      await listener.start([this.channels.queue, this.channels.lock, this.channels.pubsub], s.connectTimeoutMs);
      this.maintenance = new Maintenance(this, s.maintenanceIntervalMs, s.retention, s.onError);
      this.maintenance.start();
    } catch (error) {
      await this.listenerValue?.close();
      this.listenerValue = undefined;
      this.poolValue = undefined;
      this.relaxedPool = undefined;
      await withBound(relaxed.end(), 5_000);
      if (!s.pool) await withBound(pool.end(), 5_000);
      throw error;
    }
  }
}

/** Where a pool connects, password masked: `postgres://user:***@host:port/db`. */
export function describeTarget(pool: pg.Pool): string {
  const o = ((pool as unknown as { options?: pg.PoolConfig }).options ?? {}) as pg.PoolConfig;
  if (o.connectionString) {
    try {
      const url = new URL(o.connectionString);
      if (url.password) url.password = '***';
      return url.toString();
    } catch {
      return 'PostgreSQL (unparsable connection string)';
    }
  }
  const user = o.user ?? process.env.PGUSER;
  const auth = user ? `${user}${o.password ? ':***' : ''}@` : '';
  const host = o.host ?? process.env.PGHOST ?? 'localhost';
  return `postgres://${auth}${host}:${o.port ?? process.env.PGPORT ?? 5432}/${o.database ?? process.env.PGDATABASE ?? ''}`;
}

/** The settings of a connection of our own: those of the pool (ours or the app's), named `<role>:<schema>`. */
function clientConfig(pool: pg.Pool, s: PgConnectionSettings, role: string): pg.ClientConfig {
  const options = (pool as unknown as { options?: pg.PoolConfig }).options ?? {};
  const { max: _max, idleTimeoutMillis: _idle, ...rest } = options as pg.PoolConfig & Record<string, unknown>;
  // Named so operators (and tests) can tell these sessions apart in pg_stat_activity.
  return {
    ...rest,
    connectionTimeoutMillis: s.connectTimeoutMs,
    keepAlive: true,
    application_name: `${role}:${s.schema}`.slice(0, 63),
  } as pg.ClientConfig;
}

/** Waits for `promise` at most `ms`. */
export async function withBound(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    promise.catch(() => {}),
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, ms);
      timer.unref();
    }),
  ]);
  clearTimeout(timer);
}
