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
import { ExecutionError, Lock, Redlock, ResourceLockedError, type ExecutionStats } from '@sesamecare-oss/redlock';
import { Redis, type RedisOptions } from 'ioredis';
import {
  ClusterError,
  ErrorCodes,
  type LockAdapter,
  type LockCapabilities,
  type LockEvent,
  type TryAcquireResult,
} from 'clusterkit/adapter-kit';
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

/** Reads a node's fencing counter, or its clock in µs when the counter is missing. */
const READ = luaScript(
  'fenceRead',
  `--[[
  Reads the fencing counter; a missing one (restart without persistence, FLUSHDB) reads as the
  server clock in microseconds, so the next token stays above every earlier one.
  KEYS[1]  fencing counter key
  Returns  the counter, or the clock in µs when there is none
]]
local value = redis.call('GET', KEYS[1])
if value then return tonumber(value) end
local t = redis.call('TIME')
return tonumber(t[1]) * 1000000 + tonumber(t[2])
`,
);

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
  redis.call('SET', KEYS[1], ARGV[1])
  return candidate
end
return current
`,
);

/** How long to wait for the last votes of a failed attempt before judging it, in ms. */
const VOTES_WAIT_MS = 1_000;

/**
 * Why an acquire attempt failed: `held` when enough nodes answered to form a quorum (someone else
 * holds the lock on some of them), `unavailable` when too few nodes answered at all.
 */
async function failureKind(error: unknown): Promise<'held' | 'unavailable'> {
  if (!(error instanceof ExecutionError) || error.attempts.length === 0) return 'unavailable';
  let timer: NodeJS.Timeout | undefined;
  const stats = await Promise.race([
    error.attempts[error.attempts.length - 1]!,
    new Promise<undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), VOTES_WAIT_MS);
    }),
  ]).finally(() => clearTimeout(timer));
  if (!stats) return 'unavailable';
  return answered(stats) >= stats.quorumSize ? 'held' : 'unavailable';
}

/** Nodes that answered: voted for, or against because the lock is held there. */
function answered(stats: ExecutionStats): number {
  let locked = 0;
  for (const reason of stats.votesAgainst.values()) if (reason instanceof ResourceLockedError) locked += 1;
  return stats.votesFor.size + locked;
}

/** Redlock-based lock adapter for one node. */
export class RedlockLockAdapter implements LockAdapter {
  /** Quorum mode is not fair: whoever retries first after a release wins (see docs/redis.md). */
  readonly capabilities: LockCapabilities = Object.freeze({ fifo: false });
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
    } catch (error) {
      if ((await failureKind(error)) === 'unavailable') {
        throw new ClusterError(
          ErrorCodes.BACKEND_UNAVAILABLE,
          `Redlock: fewer than a majority of the ${this.clients.length} lock nodes answered`,
          { cause: error },
        );
      }
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
    await guard('PUBLISH', () => client.publish(channel, 'r'));
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

  async onRelease(key: string, listener: (event: LockEvent) => void): Promise<() => Promise<void>> {
    this.lockService();
    const { channel } = lockKeys(this.connections.prefix, key);
    const unlisten = await this.connections.subscriber.listen(channel, () => listener({ type: 'released' }));
    const unsubscribe = async () => {
      this.unsubscribers.delete(unsubscribe);
      await unlisten();
    };
    this.unsubscribers.add(unsubscribe);
    return unsubscribe;
  }

  /**
   * Highest counter of a majority + 1, written back to a majority. A node that lost its counter
   * reports its clock in µs instead, so a majority that lost everything still continues above the
   * earlier tokens (given lock nodes whose clocks roughly agree and never go back).
   */
  private async nextToken(fence: string): Promise<number> {
    const quorum = Math.floor(this.clients.length / 2) + 1;
    const reads = await Promise.allSettled(this.clients.map((c) => runScript(c, READ, [fence], [])));
    const seen = reads.filter((r): r is PromiseFulfilledResult<unknown> => r.status === 'fulfilled');
    if (seen.length < quorum) throw new Error(`only ${seen.length} of ${this.clients.length} nodes answered`);
    const token = Math.max(0, ...seen.map((r) => Number(r.value))) + 1;
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
