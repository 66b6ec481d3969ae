/**
 * Counters (`cacheManager.createCounter`): NocoBase's `Counter` — `get`, `incr`, `incrby`, `reset`
 * — on any cache store. A store whose `incr` is atomic (memory, Redis, and every store that does not
 * say otherwise) counts with it directly; on one that declares `atomicIncr: false` each increment is
 * a read-modify-write under a lock, as NocoBase's `LockCounter` does.
 */
import type { LockManager } from '../lock/lock-manager.js';
import { ClusterError, ErrorCodes } from '../errors.js';
import { assertDuration, assertInteger, assertName } from '../validation.js';
import type { CacheStore } from './types.js';

/** NocoBase's counter interface. Values are integers; ttls are in ms. */
export interface Counter {
  /** The current value; 0 when the counter does not exist (or expired). */
  get(key: string): Promise<number>;
  /**
   * Adds 1 and resolves the new value, atomically across nodes.
   * @param ttl lifetime in ms, set only when this call creates the counter. @default no expiry
   */
  incr(key: string, ttl?: number): Promise<number>;
  /**
   * Adds `value` (a safe integer, may be negative) and resolves the new value, atomically across nodes.
   * @param ttl lifetime in ms, set only when this call creates the counter. @default no expiry
   */
  incrby(key: string, value: number, ttl?: number): Promise<number>;
  /** Deletes the counter (it reads 0 again). */
  reset(key: string): Promise<void>;
}

/** What a counter needs from its manager. */
export interface CounterInit {
  /** Every key of the counter starts with it (`<app>:cache:<prefix or name>:`). */
  readonly namespace: string;
  /** Resolves the store once the manager is connected. */
  readonly store: () => Promise<CacheStore>;
  /** The lock manager of the lock-backed fallback. */
  readonly lockManager: () => LockManager;
}

/** How long the lock-backed fallback holds its lock at most, in ms (NocoBase's LockCounter: 3000). */
const COUNTER_LOCK_TTL_MS = 3_000;

/** A counter over a {@link CacheStore}. Built by `cacheManager.createCounter()`. */
export class StoreCounter implements Counter {
  constructor(private readonly init: CounterInit) {}

  async get(key: string): Promise<number> {
    const full = this.key(key);
    const text = await (await this.init.store()).get(full);
    return parseCount(full, text);
  }

  incr(key: string, ttl?: number): Promise<number> {
    return this.incrby(key, 1, ttl);
  }

  async incrby(key: string, value: number, ttl?: number): Promise<number> {
    const full = this.key(key);
    const by = assertInteger('incrby value', value, Number.MIN_SAFE_INTEGER);
    const ttlMs = ttl === undefined ? undefined : assertDuration('ttl', ttl);
    const store = await this.init.store();
    if (store.atomicIncr !== false) return store.incr(full, by, ttlMs);
    return this.init.lockManager().runExclusive(
      `counter:${full}`,
      async () => {
        const text = await store.get(full);
        const next = parseCount(full, text) + by;
        if (!Number.isSafeInteger(next)) {
          throw new ClusterError(ErrorCodes.INVALID_ARGUMENT, `counter "${full}" would leave the safe integer range`);
        }
        // A new counter gets the ttl; an existing one keeps what remains of its own.
        const remaining = text === undefined ? -2 : await store.pttl(full);
        const keepMs = remaining > 0 ? remaining : remaining === -1 ? undefined : ttlMs;
        await store.set(full, String(next), keepMs === undefined ? {} : { ttlMs: keepMs });
        return next;
      },
      COUNTER_LOCK_TTL_MS,
    );
  }

  async reset(key: string): Promise<void> {
    const full = this.key(key);
    await (await this.init.store()).del(full);
  }

  private key(key: string): string {
    return this.init.namespace + assertName('counter key', key);
  }
}

function parseCount(key: string, text: string | undefined): number {
  if (text === undefined) return 0;
  const value = Number(text);
  if (!Number.isSafeInteger(value)) {
    throw new ClusterError(ErrorCodes.INVALID_STATE, `counter "${key}" holds a value that is not an integer`, {
      details: { key },
    });
  }
  return value;
}
