/**
 * Cache store on an UNLOGGED table (`cache`: key, value, expires_at). Unlogged: no WAL, so writes
 * are cheap, and the table is emptied after a server crash (a cache may be) and is not replicated.
 * An expired row reads as missing at once and is deleted by the maintenance sweep (and overwritten
 * by the next write). Keys are byte-ordered (`COLLATE "C"`), so a prefix is a range of the primary
 * key: `scan` and `clear` never read other namespaces. TTLs in milliseconds.
 */
import { ClusterError, ErrorCodes } from 'clusterkit/adapter-kit';
import type { CacheStore, StoreCasOptions, StoreSetOptions } from 'clusterkit/adapter-kit';
import { type PgConnections } from './connection.js';
import { PostgresAdapterBase } from './postgres-adapter-base.js';

/** Rows per `scan` batch. */
const SCAN_BATCH = 500;
const LIVE = '(expires_at IS NULL OR expires_at > clock_timestamp())';
const EXPIRY = (p: string) =>
  `CASE WHEN ${p}::bigint IS NULL THEN NULL ELSE clock_timestamp() + ${p} * interval '1 millisecond' END`;

/** `LIKE` pattern matching every key that starts with `prefix`. */
function likePrefix(prefix: string): string {
  return `${prefix.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/** PostgreSQL cache store for one node. */
export class PostgresCacheStore extends PostgresAdapterBase implements CacheStore {
  readonly kind = 'postgres';

  constructor(connections: PgConnections) {
    super(connections, 'PostgreSQL cache store');
  }

  protected async dropResources(): Promise<void> {}

  private get t(): string {
    return this.connections.table('cache');
  }

  async get(key: string): Promise<string | undefined> {
    this.assertConnected();
    const { rows } = await this.connections.query<{ value: string }>(
      'cache get',
      `SELECT value FROM ${this.t} WHERE key = $1 AND ${LIVE}`,
      [key],
    );
    return rows[0]?.value;
  }

  async mget(keys: readonly string[]): Promise<(string | undefined)[]> {
    this.assertConnected();
    if (keys.length === 0) return [];
    const { rows } = await this.connections.query<{ key: string; value: string }>(
      'cache mget',
      `SELECT key, value FROM ${this.t} WHERE key = ANY($1::text[]) AND ${LIVE}`,
      [[...keys]],
    );
    const found = new Map(rows.map((r) => [r.key, r.value]));
    return keys.map((key) => found.get(key));
  }

  async set(key: string, value: string, options: StoreSetOptions = {}): Promise<boolean> {
    this.assertConnected();
    // With nx, only a missing or expired row may be written.
    const result = await this.connections.query(
      'cache set',
      `INSERT INTO ${this.t} AS c (key, value, expires_at) VALUES ($1, $2, ${EXPIRY('$3')})
       ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, expires_at = EXCLUDED.expires_at
       ${options.nx ? `WHERE c.expires_at IS NOT NULL AND c.expires_at <= clock_timestamp()` : ''}`,
      [key, value, options.ttlMs ?? null],
    );
    return (result.rowCount ?? 0) > 0;
  }

  /** Writes `value` only if the live value is exactly `expected` (`undefined`: missing or expired). One statement. */
  async compareAndSet(
    key: string,
    expected: string | undefined,
    value: string,
    options: StoreCasOptions = {},
  ): Promise<boolean> {
    this.assertConnected();
    const ttl = options.ttlMs ?? null;
    const result =
      expected === undefined
        ? await this.connections.query(
            'cache compare-and-set',
            `INSERT INTO ${this.t} AS c (key, value, expires_at) VALUES ($1, $2, ${EXPIRY('$3')})
             ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, expires_at = EXCLUDED.expires_at
             WHERE c.expires_at IS NOT NULL AND c.expires_at <= clock_timestamp()`,
            [key, value, ttl],
          )
        : await this.connections.query(
            'cache compare-and-set',
            `UPDATE ${this.t} SET value = $2, expires_at = ${EXPIRY('$3')} WHERE key = $1 AND value = $4 AND ${LIVE}`,
            [key, value, ttl, expected],
          );
    return (result.rowCount ?? 0) > 0;
  }

  async mset(entries: readonly (readonly [string, string])[], ttlMs?: number): Promise<void> {
    this.assertConnected();
    if (entries.length === 0) return;
    // The last value wins when a key repeats (ON CONFLICT cannot touch one row twice).
    const unique = new Map(entries.map(([k, v]) => [k, v]));
    await this.connections.query(
      'cache mset',
      `INSERT INTO ${this.t} AS c (key, value, expires_at)
       SELECT k, v, ${EXPIRY('$3')} FROM unnest($1::text[], $2::text[]) AS e(k, v)
       ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, expires_at = EXCLUDED.expires_at`,
      [[...unique.keys()], [...unique.values()], ttlMs ?? null],
    );
  }

  async del(key: string): Promise<boolean> {
    return (await this.mdel([key])) > 0;
  }

  async mdel(keys: readonly string[]): Promise<number> {
    this.assertConnected();
    if (keys.length === 0) return 0;
    const { rows } = await this.connections.query<{ live: number }>(
      'cache del',
      `WITH d AS (DELETE FROM ${this.t} WHERE key = ANY($1::text[]) RETURNING expires_at)
       SELECT count(*) FILTER (WHERE expires_at IS NULL OR expires_at > clock_timestamp())::int AS live FROM d`,
      [[...new Set(keys)]],
    );
    return rows[0]?.live ?? 0;
  }

  async incr(key: string, by = 1, ttlMs?: number): Promise<number> {
    this.assertConnected();
    if (!Number.isSafeInteger(by)) throw notInteger(key);
    try {
      const { rows } = await this.connections.query<{ value: string }>(
        'cache incr',
        `INSERT INTO ${this.t} AS c (key, value, expires_at) VALUES ($1, $2::bigint::text, ${EXPIRY('$3')})
         ON CONFLICT (key) DO UPDATE SET
           value = CASE WHEN c.expires_at IS NOT NULL AND c.expires_at <= clock_timestamp()
                        THEN EXCLUDED.value ELSE (c.value::bigint + $2::bigint)::text END,
           expires_at = CASE WHEN c.expires_at IS NOT NULL AND c.expires_at <= clock_timestamp()
                        THEN EXCLUDED.expires_at ELSE c.expires_at END
         RETURNING value`,
        [key, by, ttlMs ?? null],
      );
      const value = Number(rows[0]?.value);
      if (!Number.isSafeInteger(value)) throw notInteger(key);
      return value;
    } catch (error) {
      // 22P02: the stored value is not an integer; 22003: out of bigint range.
      const state = ((error as ClusterError).details as { sqlState?: string } | undefined)?.sqlState;
      if (state === '22P02' || state === '22003') throw notInteger(key);
      throw error;
    }
  }

  async expire(key: string, ttlMs: number): Promise<boolean> {
    this.assertConnected();
    const result = await this.connections.query(
      'cache expire',
      `UPDATE ${this.t} SET expires_at = clock_timestamp() + $2 * interval '1 millisecond' WHERE key = $1 AND ${LIVE}`,
      [key, ttlMs],
    );
    return (result.rowCount ?? 0) > 0;
  }

  async pttl(key: string): Promise<number> {
    this.assertConnected();
    const { rows } = await this.connections.query<{ ms: number | null }>(
      'cache pttl',
      `SELECT CASE WHEN expires_at IS NULL THEN -1
                   ELSE greatest(0, floor(extract(epoch FROM expires_at - clock_timestamp()) * 1000)) END::float8 AS ms
       FROM ${this.t} WHERE key = $1 AND ${LIVE}`,
      [key],
    );
    return rows.length === 0 ? -2 : Number(rows[0]!.ms);
  }

  async *scan(prefix: string): AsyncIterable<string> {
    this.assertConnected();
    let after: string | null = null;
    for (;;) {
      const { rows }: { rows: { key: string }[] } = await this.connections.query<{ key: string }>(
        'cache scan',
        `SELECT key FROM ${this.t} WHERE key LIKE $1 AND ($2::text IS NULL OR key > $2) AND ${LIVE}
         ORDER BY key LIMIT ${SCAN_BATCH}`,
        [likePrefix(prefix), after],
      );
      for (const row of rows) yield row.key;
      if (rows.length < SCAN_BATCH) return;
      after = rows[rows.length - 1]!.key;
    }
  }

  async clear(prefix: string): Promise<void> {
    this.assertConnected();
    await this.connections.query('cache clear', `DELETE FROM ${this.t} WHERE key LIKE $1`, [likePrefix(prefix)]);
  }
}

function notInteger(key: string): ClusterError {
  return new ClusterError(ErrorCodes.INVALID_ARGUMENT, `incr: value of "${key}" or increment is not an integer`, {
    details: { key },
  });
}
