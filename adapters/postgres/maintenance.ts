/**
 * The periodic sweep that keeps every table bounded: expired cache rows, completed and dead
 * messages beyond their retention, large pub/sub payloads nobody needs any more, lapsed lock
 * leases and waiter places. Every node runs the timer; one at a time does the work (a
 * transaction-scoped `pg_try_advisory_xact_lock`), so the sweep costs one round trip per interval
 * on the others. Each delete is capped per run, so a backlog is worked off over a few runs
 * without long-held locks.
 */
import type { PgConnections } from './connection.js';
import { inTransaction } from './in-transaction.js';
import { advisoryKey } from './names.js';

/** How many finished messages to keep; both limits apply when both are set. */
export interface RetentionLimit {
  /** Most kept per queue. */
  readonly count: number;
  /** Longest kept, in ms; undefined = no age limit. */
  readonly ageMs: number | undefined;
}

/** Retention of the event queue's finished messages. */
export interface RetentionSettings {
  readonly completed: RetentionLimit;
  readonly dead: RetentionLimit;
}

/** Most rows one sweep deletes per table. */
const BATCH = 20_000;
/** Large pub/sub payloads are kept this long for the nodes fetching them, in ms. */
const PAYLOAD_KEEP_MS = 60_000;
/** Lapsed lock leases and waiter places are removed this long after they lapse, in ms. */
const LOCK_KEEP_MS = 60_000;
/** A table with more dead rows than this is vacuumed by the sweep (not left to autovacuum's schedule). */
const VACUUM_DEAD_ROWS = 5_000;
const VACUUMED = ['jobs', 'completed', 'cache', 'locks', 'lock_waiters', 'pubsub_payloads'];

/** The sweep of one node. */
export class Maintenance {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(
    private readonly connections: PgConnections,
    private readonly intervalMs: number,
    private readonly retention: RetentionSettings,
    private readonly onError: (error: unknown, meta: Record<string, unknown>) => void,
  ) {}

  start(): void {
    if (this.intervalMs <= 0) return;
    this.timer = setInterval(() => {
      if (this.running) return;
      this.running = this.sweep()
        .then(() => {})
        .catch((error: unknown) => this.onError(error, { source: 'maintenance' }))
        .finally(() => {
          this.running = undefined;
        });
    }, this.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }

  /** One sweep and, when due, a vacuum — if no other node is doing it right now. Returns whether this node swept. */
  async sweep(): Promise<boolean> {
    const swept = await this.deleteExpired();
    if (swept) await this.vacuum();
    return swept;
  }

  /**
   * VACUUMs the tables with many dead rows. Every message leaves dead row versions behind (insert,
   * take, delete); autovacuum visits a database once per `autovacuum_naptime` (1 min by default) and
   * may be busy elsewhere, and until a vacuum runs the space is not reused: a busy queue's table
   * would grow with every message. VACUUM cannot run in a transaction, so one node at a time holds a
   * session advisory lock around it (on the same pooled connection, released before it goes back).
   */
  private async vacuum(): Promise<void> {
    const c = this.connections;
    const client = await c.pool.connect();
    const key = advisoryKey(c.settings.schema, 'vacuum');
    let broken = false;
    try {
      const { rows } = await client.query<{ got: boolean }>('SELECT pg_try_advisory_lock($1::bigint) AS got', [key]);
      if (!rows[0]?.got) return;
      try {
        const stats = await client.query<{ relname: string; dead: string }>(
          `SELECT relname, n_dead_tup::text AS dead FROM pg_stat_user_tables WHERE schemaname = $1 AND relname = ANY($2::text[])`,
          [c.settings.schema, VACUUMED],
        );
        for (const row of stats.rows) {
          if (Number(row.dead) > VACUUM_DEAD_ROWS) await client.query(`VACUUM ${c.table(row.relname)}`);
        }
      } finally {
        await client.query('SELECT pg_advisory_unlock($1::bigint)', [key]);
      }
    } catch (error) {
      broken = true;
      throw error;
    } finally {
      client.release(broken);
    }
  }

  private async deleteExpired(): Promise<boolean> {
    const c = this.connections;
    const t = (name: string) => c.table(name);
    return inTransaction(c.pool, async (client) => {
      const { rows } = await client.query<{ got: boolean }>('SELECT pg_try_advisory_xact_lock($1::bigint) AS got', [
        advisoryKey(c.settings.schema, 'maintenance'),
      ]);
      if (!rows[0]?.got) return false;
      await client.query(
        `DELETE FROM ${t('cache')} WHERE key IN (
           SELECT key FROM ${t('cache')} WHERE expires_at <= clock_timestamp() LIMIT ${BATCH})`,
      );
      await this.trim(client, 'completed');
      await this.trim(client, 'dead');
      for (const [table, column, keepMs] of [
        ['pubsub_payloads', 'created_at', PAYLOAD_KEEP_MS],
        ['locks', 'expires_at', LOCK_KEEP_MS],
        ['lock_waiters', 'expires_at', LOCK_KEEP_MS],
      ] as const) {
        await client.query(
          `DELETE FROM ${t(table)} WHERE ${column} < clock_timestamp() - $1 * interval '1 millisecond'`,
          [keepMs],
        );
      }
      return true;
    });
  }

  /** Deletes finished messages beyond the count per queue and past the age limit. */
  private async trim(
    client: { query(text: string, values?: unknown[]): Promise<unknown> },
    kind: 'completed' | 'dead',
  ): Promise<void> {
    const limit = this.retention[kind];
    const t = (name: string) => this.connections.table(name);
    if (kind === 'completed') {
      await client.query(
        `DELETE FROM ${t('completed')} WHERE seq IN (
           SELECT seq FROM (
             SELECT seq, finished_at, row_number() OVER (PARTITION BY queue ORDER BY seq DESC) AS rank
             FROM ${t('completed')}) ranked
           WHERE rank > $1 OR ($2::bigint IS NOT NULL AND finished_at < clock_timestamp() - $2 * interval '1 millisecond')
           LIMIT ${BATCH})`,
        [limit.count, limit.ageMs ?? null],
      );
      return;
    }
    await client.query(
      `DELETE FROM ${t('jobs')} WHERE (queue, id) IN (
         SELECT queue, id FROM (
           SELECT queue, id, failed_at, row_number() OVER (PARTITION BY queue ORDER BY failed_at DESC, seq DESC) AS rank
           FROM ${t('jobs')} WHERE state = 2) ranked
         WHERE rank > $1 OR ($2::bigint IS NOT NULL AND failed_at < clock_timestamp() - $2 * interval '1 millisecond')
         LIMIT ${BATCH})`,
      [limit.count, limit.ageMs ?? null],
    );
  }
}
