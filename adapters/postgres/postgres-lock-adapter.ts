/**
 * Fair locks as leases in a table (`locks`: key, owner, token, expires_at), with a per-key FIFO
 * line (`lock_waiters`). Every step is one call of a function (schema-v1.ts) holding a per-key
 * transaction-scoped advisory lock while it checks and writes, so only the head of the line can
 * take a free lease, and a release hands the lease straight to the head and NOTIFYs the new owner
 * and token — the next holder needs no round trip of its own. Fencing tokens come from a sequence,
 * which never goes back. An expiry is not announced: waiters try again when the holder's lease
 * would end (`retryAfterMs`), never on a fixed poll. Why not advisory locks alone: docs/postgres.md.
 */
import type { LockAdapter, LockCapabilities } from 'clusterkit/adapter-kit';
import type { LockEvent, TryAcquireOptions, TryAcquireResult } from 'clusterkit/adapter-kit';
import type { PgConnections } from './connection.js';
import { md5 } from './names.js';
import { PostgresAdapterBase } from './postgres-adapter-base.js';

/** Parses a notification after its key hash: `r` (freed) or `g <token> <ttl ms> <server ms> <owner>` (handed on). */
function parseEvent(rest: string, toLocal: (serverMs: number) => number): LockEvent | undefined {
  if (rest === 'r') return { type: 'released' };
  const match = /^g (\d+) (\d+) (\d+) (.*)$/s.exec(rest);
  if (!match) return undefined;
  return {
    type: 'granted',
    owner: match[4]!,
    fencingToken: Number(match[1]),
    ttlMs: Number(match[2]),
    grantedAt: toLocal(Number(match[3])),
  };
}

/** PostgreSQL lock adapter for one node. */
export class PostgresLockAdapter extends PostgresAdapterBase implements LockAdapter {
  readonly capabilities: LockCapabilities = Object.freeze({ fifo: true });
  /** Listeners by md5 of the key. */
  private readonly listeners = new Map<string, Set<(event: LockEvent) => void>>();
  private unlisten: (() => void)[] = [];
  /**
   * Attempts of this node per key, one after the other: the pool would send concurrent ones on
   * different connections, and they could reach the server (and the line) in another order than
   * they were made. (A single Redis connection keeps that order by itself.)
   */
  private readonly tails = new Map<string, Promise<unknown>>();
  /**
   * Local clock minus server clock, from the last attempt: the request left at local time `sentAt`
   * and ran at server time `now`, so server time X happened at local time ≥ X + (sentAt − now).
   */
  private clockOffset: number | undefined;

  constructor(connections: PgConnections) {
    super(connections, 'PostgreSQL lock adapter');
  }

  override async connect(): Promise<void> {
    if (this.connected) return;
    await super.connect();
    const listener = this.connections.listener;
    this.unlisten = [
      listener.on(this.connections.channels.lock, (payload) => this.dispatch(payload)),
      // Notifications sent while the LISTEN connection was down were missed: let every waiter look.
      listener.onReconnect(() => {
        for (const set of this.listeners.values()) for (const l of [...set]) l({ type: 'released' });
      }),
    ];
  }

  protected async dropResources(): Promise<void> {
    for (const off of this.unlisten.splice(0)) off();
    this.listeners.clear();
  }

  tryAcquire(key: string, owner: string, ttlMs: number, options?: TryAcquireOptions): Promise<TryAcquireResult> {
    this.assertConnected();
    const previous = this.tails.get(key) ?? Promise.resolve();
    const attempt = previous.catch(() => {}).then(() => this.attempt(key, owner, ttlMs, options));
    const tail = attempt.catch(() => {});
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return attempt;
  }

  private async attempt(
    key: string,
    owner: string,
    ttlMs: number,
    options: TryAcquireOptions | undefined,
  ): Promise<TryAcquireResult> {
    const sentAt = Date.now();
    const { rows } = await this.connections.query<{
      acquired: boolean;
      value: string;
      remaining_ms: string | null;
      now_ms: string;
    }>('lock acquire', `SELECT * FROM ${this.connections.table('lock_try')}($1, $2, $3, $4)`, [
      key,
      owner,
      ttlMs,
      Math.max(0, Math.floor(options?.queueMs ?? 0)),
    ]);
    const row = rows[0]!;
    this.clockOffset = sentAt - Number(row.now_ms);
    if (row.acquired) {
      const remainingMs = Number(row.remaining_ms);
      return remainingMs < ttlMs
        ? { acquired: true, fencingToken: Number(row.value), remainingMs: Math.max(0, remainingMs) }
        : { acquired: true, fencingToken: Number(row.value) };
    }
    return { acquired: false, retryAfterMs: Math.max(1, Number(row.value)) };
  }

  async release(key: string, owner: string): Promise<boolean> {
    this.assertConnected();
    const { rows } = await this.connections.query<{ released: boolean }>(
      'lock release',
      `SELECT ${this.connections.table('lock_release')}($1, $2, $3) AS released`,
      [key, owner, this.connections.channels.lock],
    );
    return rows[0]?.released === true;
  }

  async leave(key: string, owner: string): Promise<void> {
    this.assertConnected();
    await this.connections.query('lock leave', `SELECT ${this.connections.table('lock_leave')}($1, $2, $3)`, [
      key,
      owner,
      this.connections.channels.lock,
    ]);
  }

  async extend(key: string, owner: string, ttlMs: number): Promise<boolean> {
    this.assertConnected();
    const result = await this.connections.query(
      'lock extend',
      `UPDATE ${this.connections.table('locks')} SET expires_at = clock_timestamp() + $3 * interval '1 millisecond'
       WHERE key = $1 AND owner = $2 AND expires_at > clock_timestamp()`,
      [key, owner, ttlMs],
    );
    return (result.rowCount ?? 0) > 0;
  }

  async onRelease(key: string, listener: (event: LockEvent) => void): Promise<() => Promise<void>> {
    this.assertConnected();
    const hash = md5(key);
    // Wrapped so the same function subscribed twice is two subscriptions.
    const entry = (event: LockEvent) => listener(event);
    let set = this.listeners.get(hash);
    if (!set) this.listeners.set(hash, (set = new Set()));
    set.add(entry);
    return async () => {
      const current = this.listeners.get(hash);
      current?.delete(entry);
      if (current?.size === 0) this.listeners.delete(hash);
    };
  }

  private dispatch(payload: string): void {
    const space = payload.indexOf(' ');
    const set = space > 0 ? this.listeners.get(payload.slice(0, space)) : undefined;
    if (!set) return;
    const toLocal = (serverMs: number) =>
      this.clockOffset === undefined ? Date.now() : Math.min(Date.now(), serverMs + this.clockOffset);
    const event = parseEvent(payload.slice(space + 1), toLocal);
    if (!event) return;
    for (const l of [...set]) l(event);
  }
}
