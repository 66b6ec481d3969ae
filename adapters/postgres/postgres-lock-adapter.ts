/**
 * Locks as leases in a table (`locks`: key, owner, token, expires_at), each operation one call of
 * a function that holds a per-key advisory transaction lock while it checks and writes. Fencing
 * tokens come from a sequence, which never goes back. A release NOTIFYs the md5 of the key, heard
 * on the node's LISTEN connection; an expiry is not announced, and waiters try again after the
 * holder's remaining lease (`retryAfterMs`) instead — never on a fixed poll.
 *
 * FIFO across nodes: a waiter (a node with a release subscription on the key) that fails to take
 * the lease joins `lock_waiters`; a free lease goes only to the oldest live waiter, so a newcomer
 * cannot overtake the line. A waiter's place lapses if it does not try again within its wait plus
 * `lockWaiterGraceMs` (a crashed waiter), and is removed when it stops waiting. Why not advisory
 * locks alone: see docs/postgres.md.
 */
import type { LockAdapter, TryAcquireResult } from 'clusterkit';
import { withBound, type PgConnections } from './connection.js';
import { md5 } from './names.js';
import { PostgresAdapterBase } from './postgres-adapter-base.js';

interface Subscription {
  readonly key: string;
  readonly callback: () => void;
}

/** PostgreSQL lock adapter for one node. */
export class PostgresLockAdapter extends PostgresAdapterBase implements LockAdapter {
  /** Release subscriptions by md5 of the key. */
  private readonly subscriptions = new Map<string, Set<Subscription>>();
  /** Owners this node put in a key's line, removed from it when the node stops waiting on the key. */
  private readonly queued = new Map<string, Set<string>>();
  private unlisten: (() => void)[] = [];
  /** Places in line being given up; close waits for them before the pool goes. */
  private readonly leaving = new Set<Promise<void>>();
  private readonly trying = new Set<Promise<unknown>>();

  constructor(
    connections: PgConnections,
    private readonly waiterGraceMs: number,
  ) {
    super(connections, 'PostgreSQL lock adapter');
  }

  override async connect(): Promise<void> {
    if (this.connected) return;
    await super.connect();
    const listener = this.connections.listener;
    this.unlisten = [
      listener.on(this.connections.channels.lock, (payload) => this.notify(payload)),
      // Releases announced while the LISTEN connection was down were missed: let every waiter try.
      listener.onReconnect(() => {
        for (const hash of this.subscriptions.keys()) this.notify(hash);
      }),
    ];
  }

  protected async dropResources(): Promise<void> {
    for (const off of this.unlisten.splice(0)) off();
    // A try in flight may still put its owner in line: let it land, then give every place up.
    await withBound(Promise.allSettled([...this.trying]), 5_000);
    this.subscriptions.clear();
    const lines = [...this.queued.entries()];
    this.queued.clear();
    for (const [key, owners] of lines) void this.leaveLine(key, owners).catch(() => {});
    await Promise.allSettled([...this.leaving]);
  }

  tryAcquire(key: string, owner: string, ttlMs: number): Promise<TryAcquireResult> {
    this.assertConnected();
    // Tracked whole, line bookkeeping included, so close() can wait for it.
    const trying = this.try(key, owner, ttlMs);
    this.trying.add(trying);
    void trying.finally(() => this.trying.delete(trying)).catch(() => {});
    return trying;
  }

  private async try(key: string, owner: string, ttlMs: number): Promise<TryAcquireResult> {
    // Only a waiter (one that will be woken and try again) takes a place in line; a one-shot
    // tryAcquire never subscribes, so it never blocks the line.
    const queue = this.subscriptions.has(md5(key));
    const { rows } = await this.connections.query<{ acquired: boolean; value: string }>(
      'lock acquire',
      `SELECT acquired, value FROM ${this.connections.table('lock_try')}($1, $2, $3, $4, $5)`,
      [key, owner, ttlMs, queue, this.waiterGraceMs],
    );
    const row = rows[0];
    if (!row) throw new Error('lock_try returned no row');
    if (row.acquired) {
      this.queued.get(key)?.delete(owner);
      return { acquired: true, fencingToken: Number(row.value) };
    }
    if (queue) {
      let owners = this.queued.get(key);
      if (!owners) this.queued.set(key, (owners = new Set()));
      owners.add(owner);
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

  async onRelease(key: string, onRelease: () => void): Promise<() => Promise<void>> {
    this.assertConnected();
    const hash = md5(key);
    const sub: Subscription = { key, callback: () => onRelease() };
    let set = this.subscriptions.get(hash);
    if (!set) this.subscriptions.set(hash, (set = new Set()));
    set.add(sub);
    return async () => {
      const current = this.subscriptions.get(hash);
      current?.delete(sub);
      if (current?.size === 0) this.subscriptions.delete(hash);
      if (this.subscriptions.has(hash)) return;
      // This node no longer waits on the key: give up the places it held in line.
      const owners = this.queued.get(key);
      this.queued.delete(key);
      if (owners && owners.size > 0) await this.leaveLine(key, owners);
    };
  }

  /** Removes places in line, and wakes the rest of the line (the head may have changed). */
  private leaveLine(key: string, owners: Set<string>): Promise<void> {
    const leaving = this.deleteFromLine(key, owners).finally(() => this.leaving.delete(leaving));
    this.leaving.add(leaving);
    return leaving;
  }

  private async deleteFromLine(key: string, owners: Set<string>): Promise<void> {
    await this.connections.query(
      'lock leave line',
      `WITH d AS (DELETE FROM ${this.connections.table('lock_waiters')} WHERE key = $1 AND owner = ANY($2::text[]) RETURNING 1)
       SELECT pg_notify($3, md5($1)) FROM d LIMIT 1`,
      [key, [...owners], this.connections.channels.lock],
    );
  }

  private notify(hash: string): void {
    const set = this.subscriptions.get(hash);
    if (!set) return;
    for (const sub of [...set]) sub.callback();
  }
}
