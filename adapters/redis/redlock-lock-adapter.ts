/**
 * Quorum locks over several independent Redis nodes with `@sesamecare-oss/redlock`, the maintained
 * fork of `redlock` (the original's last release predates ioredis 5 and types against ioredis 4;
 * the fork supports ioredis >= 5 and keeps the same algorithm and API).
 *
 * Redlock has no fencing tokens, so this adapter adds a quorum register: after taking the lock it
 * reads the key's counter on every node, takes the highest value seen by a majority plus one, and
 * raises the counter to it on a majority. Two majorities always share a node, so a later holder
 * sees at least the previous token: tokens increase as long as a majority of nodes keeps its data
 * (persistence on) and Redlock's own mutual exclusion holds (bounded clock drift). Release
 * notifications travel over the node's main Redis connection (the one given by `url`/`options`),
 * on the same channel as the single-Redis lock.
 */
import { Lock, Redlock } from '@sesamecare-oss/redlock';
import { Redis, type RedisOptions } from 'ioredis';
import { ClusterError, ErrorCodes, type LockAdapter, type TryAcquireResult } from 'clusterkit';
import { closeClient, connectClient, guard, unavailable, type RedisConnections } from './connection.js';
import { luaScript, runScript } from './lua/run-script.js';
import { lockKeys } from './redis-lock-adapter.js';

/** Quorum mode of the lock. */
export interface RedlockOptions {
  /** The independent Redis nodes (URLs or ioredis options); use an odd number, 3 or 5. */
  nodes: readonly (string | RedisOptions)[];
  /** Clock drift allowance as a fraction of the ttl. @default 0.01 */
  driftFactor?: number;
}

/** Raises a counter to at least ARGV[1]. */
const RAISE = luaScript(
  'fenceRaise',
  `--[[
  Raises the fencing counter to a value if it is lower.
  KEYS[1]  fencing counter key
  ARGV[1]  candidate token
  Returns  the counter after the call
]]
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
local candidate = tonumber(ARGV[1])
if candidate > current then
  redis.call('SET', KEYS[1], candidate)
  return candidate
end
return current
`,
);

/** Redlock-based lock adapter for one node. */
export class RedlockLockAdapter implements LockAdapter {
  private clients: Redis[] = [];
  private redlock?: Redlock;
  private readonly held = new Map<string, Lock>();
  private readonly unsubscribers = new Set<() => Promise<void>>();

  constructor(
    private readonly connections: RedisConnections,
    private readonly options: RedlockOptions,
  ) {
    if (!Array.isArray(options.nodes) || options.nodes.length === 0) {
      throw new ClusterError(ErrorCodes.INVALID_OPTION, 'redlock.nodes must list at least one Redis node', {
        details: { option: 'redlock.nodes' },
      });
    }
  }

  async connect(): Promise<void> {
    if (this.redlock) return;
    await this.connections.open();
    const clients = this.options.nodes.map((node) => {
      const extra = { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 1 };
      return typeof node === 'string' ? new Redis(node, extra) : new Redis({ ...node, ...extra });
    });
    for (const client of clients) client.on('error', () => {});
    // Quorum mode works with a minority of nodes down: connect what answers.
    await Promise.allSettled(clients.map((c) => connectClient(c, this.connections.connectTimeoutMs, 'redlock node')));
    this.clients = clients;
    this.redlock = new Redlock(clients, { retryCount: 0, driftFactor: this.options.driftFactor ?? 0.01 });
    this.redlock.on('error', () => {});
  }

  async close(): Promise<void> {
    if (!this.redlock) return;
    this.redlock = undefined;
    const subs = [...this.unsubscribers];
    this.unsubscribers.clear();
    await Promise.allSettled(subs.map((u) => u()));
    await Promise.all(this.clients.map((c) => closeClient(c)));
    this.clients = [];
    this.held.clear();
    await this.connections.release();
  }

  async tryAcquire(key: string, owner: string, ttlMs: number): Promise<TryAcquireResult> {
    const redlock = this.lockService();
    const { lease, fence } = lockKeys(this.connections.prefix, key);
    let lock: Lock;
    try {
      lock = await redlock.acquire([lease], ttlMs);
    } catch {
      return { acquired: false, retryAfterMs: await this.remaining(lease) };
    }
    try {
      const fencingToken = await this.nextToken(fence);
      this.held.set(this.id(key, owner), lock);
      return { acquired: true, fencingToken };
    } catch (error) {
      await redlock.release(lock).catch(() => {});
      throw unavailable('Redlock fencing token', error);
    }
  }

  async release(key: string, owner: string): Promise<boolean> {
    const redlock = this.lockService();
    const lock = this.held.get(this.id(key, owner));
    if (!lock) return false;
    this.held.delete(this.id(key, owner));
    const live = lock.expiration > Date.now();
    await redlock.release(lock).catch(() => {});
    const { channel } = lockKeys(this.connections.prefix, key);
    const client = this.connections.command;
    await guard('PUBLISH', () => client.publish(channel, '1'));
    return live;
  }

  async extend(key: string, owner: string, ttlMs: number): Promise<boolean> {
    const redlock = this.lockService();
    const lock = this.held.get(this.id(key, owner));
    if (!lock || lock.expiration <= Date.now()) return false;
    try {
      this.held.set(this.id(key, owner), await redlock.extend(lock, ttlMs));
      return true;
    } catch {
      return false;
    }
  }

  async onRelease(key: string, onRelease: () => void): Promise<() => Promise<void>> {
    this.lockService();
    const { channel } = lockKeys(this.connections.prefix, key);
    const unlisten = await this.connections.subscriber.listen(channel, () => onRelease());
    const unsubscribe = async () => {
      this.unsubscribers.delete(unsubscribe);
      await unlisten();
    };
    this.unsubscribers.add(unsubscribe);
    return unsubscribe;
  }

  /** Highest counter of a majority + 1, written back to a majority. */
  private async nextToken(fence: string): Promise<number> {
    const quorum = Math.floor(this.clients.length / 2) + 1;
    const reads = await Promise.allSettled(this.clients.map((c) => c.get(fence)));
    const seen = reads.filter((r): r is PromiseFulfilledResult<string | null> => r.status === 'fulfilled');
    if (seen.length < quorum) throw new Error(`only ${seen.length} of ${this.clients.length} nodes answered`);
    const token = Math.max(0, ...seen.map((r) => Number(r.value ?? 0))) + 1;
    const writes = await Promise.allSettled(this.clients.map((c) => runScript(c, RAISE, [fence], [token])));
    const acked = writes.filter((w) => w.status === 'fulfilled').length;
    if (acked < quorum) throw new Error(`only ${acked} of ${this.clients.length} nodes stored the token`);
    return token;
  }

  /** Longest remaining lease among the nodes: an upper bound on the wait. */
  private async remaining(lease: string): Promise<number> {
    const ttls = await Promise.allSettled(this.clients.map((c) => c.pttl(lease)));
    const values = ttls.flatMap((t) => (t.status === 'fulfilled' && t.value > 0 ? [t.value] : []));
    return Math.max(1, ...values);
  }

  private id(key: string, owner: string): string {
    return `${owner}\u0000${key}`;
  }

  private lockService(): Redlock {
    if (!this.redlock) throw new ClusterError(ErrorCodes.NOT_CONNECTED, 'Redlock lock adapter is not connected');
    return this.redlock;
  }
}
