/**
 * The cache store contract: a string key/value store with TTLs. The cache manager owns
 * serialization, namespacing, `wrap` single-flight; the managed job layer uses the atomic
 * primitives (`set` with `nx`, `incr`, `expire`, `scan`) as a portable KV.
 */

/** Options for {@link CacheStore.set}. */
export interface StoreSetOptions {
  /** Time to live in ms; omitted = no expiry. */
  readonly ttlMs?: number;
  /** Only set when the key does not exist (SET NX). */
  readonly nx?: boolean;
}

/** A key/value backend. One instance per node. */
export interface CacheStore {
  /** Short store kind used by `createCache({ store })`: 'memory', 'redis', ... */
  readonly kind: string;
  connect(): Promise<void>;
  close(): Promise<void>;
  get(key: string): Promise<string | undefined>;
  /**
   * Optional synchronous read for stores that hold their data in process (the memory store): the
   * value, or `undefined` when missing or expired. `wrap` tries it before anything asynchronous, so a
   * hit costs no promise hop to the store.
   */
  peek?(key: string): string | undefined;
  mget(keys: readonly string[]): Promise<(string | undefined)[]>;
  /** Returns false only when `nx` was given and the key existed. */
  set(key: string, value: string, options?: StoreSetOptions): Promise<boolean>;
  mset(entries: readonly (readonly [string, string])[], ttlMs?: number): Promise<void>;
  /** Returns whether the key existed. */
  del(key: string): Promise<boolean>;
  /** Returns how many keys existed. */
  mdel(keys: readonly string[]): Promise<number>;
  /** Atomically adds `by` to an integer value (missing = 0); sets `ttlMs` when the key is created. */
  incr(key: string, by?: number, ttlMs?: number): Promise<number>;
  /** Sets the expiry of an existing key; returns false when it does not exist. */
  expire(key: string, ttlMs: number): Promise<boolean>;
  /** Remaining TTL in ms: -1 no expiry, -2 missing. */
  pttl(key: string): Promise<number>;
  /** Iterates keys that start with `prefix`, in batches, without blocking the backend (SCAN, never KEYS). */
  scan(prefix: string): AsyncIterable<string>;
  /** Deletes every key that starts with `prefix` (SCAN + UNLINK; never FLUSHDB). */
  clear(prefix: string): Promise<void>;
  /**
   * The backend's own client with every key prefixed by `keyPrefix` (Redis: an ioredis client), for
   * plugins that need native commands. Absent on stores without one (memory).
   */
  nativeClient?(keyPrefix: string): unknown;
  /**
   * Optional: whether `incr` is one atomic operation on the shared backend (no concurrent writer on
   * any node can split it). Counters (`cacheManager.createCounter`) call `incr` directly unless this
   * is `false`; then every increment is a read-modify-write under a lock of the manager's lock
   * manager (NocoBase's `LockCounter`). @default true
   */
  readonly atomicIncr?: boolean;
  /**
   * Optional: atomically writes `value` only when the key's current value is exactly `expected`
   * (`undefined`: the key is missing or expired); resolves whether it wrote. `ttlMs` as in `set`
   * (omitted: no expiry). `cache.setValueInObject` / `delValueInObject` use it to update one field
   * without losing a concurrent writer's field; a store without it gets a read-modify-write under a
   * lock of the manager's lock manager instead.
   */
  compareAndSet?(key: string, expected: string | undefined, value: string, options?: StoreCasOptions): Promise<boolean>;
}

/** Options of {@link CacheStore.compareAndSet}. */
export interface StoreCasOptions {
  /** Time to live in ms of the written value; omitted = no expiry. */
  readonly ttlMs?: number;
}
