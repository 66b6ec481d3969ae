/**
 * Lock on one Redis: a lease is `SET key owner NX PX ttl`; release and extend are Lua
 * compare-and-delete / compare-and-extend, so only the owner can do either. The acquire script
 * INCRs a per-key counter that never expires: its value is the fencing token. A release PUBLISHes
 * on a per-key channel, which waiters hear on the node's shared subscriber connection; a lease that
 * simply expires is not announced, and waiters retry after the holder's remaining ttl
 * (`retryAfterMs`) instead — never on a fixed poll.
 */
import type { LockAdapter, TryAcquireResult } from 'clusterkit';
import { guard, whileOpen, type RedisConnections } from './connection.js';
import { RedisAdapterBase } from './redis-adapter-base.js';
import { ACQUIRE, EXTEND, RELEASE } from './lua/lock-scripts.js';
import { runScript } from './lua/run-script.js';

/** Key layout of one lock: lease, fencing counter (same hash slot) and release channel. */
export function lockKeys(prefix: string, key: string): { lease: string; fence: string; channel: string } {
  const base = `${prefix}:lock:{${key}}`;
  return { lease: base, fence: `${base}:fence`, channel: `${base}:released` };
}

/** Single-Redis lock adapter for one node. */
export class RedisLockAdapter extends RedisAdapterBase implements LockAdapter {
  private readonly unsubscribers = new Set<() => Promise<void>>();

  constructor(connections: RedisConnections) {
    super(connections, 'Redis lock adapter');
  }

  protected async dropResources(): Promise<void> {
    const subs = [...this.unsubscribers];
    this.unsubscribers.clear();
    await Promise.allSettled(subs.map((unsubscribe) => unsubscribe()));
  }

  async tryAcquire(key: string, owner: string, ttlMs: number): Promise<TryAcquireResult> {
    const client = this.client();
    const { lease, fence } = lockKeys(this.connections.prefix, key);
    const [taken, value] = (await whileOpen(
      () => this.connected,
      'lock acquire',
      () => runScript(client, ACQUIRE, [lease, fence], [owner, ttlMs]),
    )) as [number, number];
    if (taken === 1) return { acquired: true, fencingToken: Number(value) };
    // -2: expired between SET and PTTL; -1 cannot happen for our keys. Either way: retry soon.
    return { acquired: false, retryAfterMs: Math.max(1, Number(value)) };
  }

  async release(key: string, owner: string): Promise<boolean> {
    const client = this.client();
    const { lease, channel } = lockKeys(this.connections.prefix, key);
    return (await guard('lock release', () => runScript(client, RELEASE, [lease], [owner, channel]))) === 1;
  }

  async extend(key: string, owner: string, ttlMs: number): Promise<boolean> {
    const client = this.client();
    const { lease } = lockKeys(this.connections.prefix, key);
    return (await guard('lock extend', () => runScript(client, EXTEND, [lease], [owner, ttlMs]))) === 1;
  }

  async onRelease(key: string, onRelease: () => void): Promise<() => Promise<void>> {
    this.assertConnected();
    const { channel } = lockKeys(this.connections.prefix, key);
    const unlisten = await whileOpen(
      () => this.connected,
      'lock onRelease',
      () => this.connections.subscriber.listen(channel, () => onRelease()),
    );
    const unsubscribe = async () => {
      this.unsubscribers.delete(unsubscribe);
      await unlisten();
    };
    this.unsubscribers.add(unsubscribe);
    return unsubscribe;
  }
}
