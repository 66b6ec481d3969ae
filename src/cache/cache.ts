/**
 * A named cache: JSON values under its own key namespace on a {@link CacheStore}, with TTLs in ms,
 * `wrap` single-flight and NocoBase/cache-manager method shapes.
 */
import { booleanOption } from '../boolean-option.js';
import type { ManagerContext } from '../context.js';
import { ClusterError, ErrorCodes } from '../errors.js';
import {
  assertDuration,
  assertFunction,
  assertName,
  assertOptions,
  describe,
  serializePayload,
} from '../validation.js';
import { asObject, assertObjectKey, fieldOf, globMatcher, withField, withoutField } from './cache-fields.js';
import type { CacheStore } from './types.js';

/** What a cache needs from its manager. Built by `cacheManager.createCache()`. */
export interface CacheInit {
  readonly name: string;
  /** Every key of this cache starts with it; `reset()` clears exactly this prefix. */
  readonly namespace: string;
  /** Default ttl in ms for writes that give none; undefined = no expiry. */
  readonly ttl: number | undefined;
  readonly context: ManagerContext;
  /** Resolves the store once the manager is connected (rejects `NOT_CONNECTED` otherwise). */
  readonly store: () => Promise<CacheStore>;
  /** The store at once while the manager is connected, else undefined (then `store()` decides). */
  readonly connectedStore?: () => CacheStore | undefined;
  /**
   * Runs `fn` under a lock named after `key` (the manager's lock manager): the read-modify-write of
   * `setValueInObject` on a store without `compareAndSet`.
   */
  readonly withLock?: <T>(key: string, fn: () => Promise<T>) => Promise<T>;
}

/** Compare-and-set rounds `setValueInObject` tries before giving up under extreme contention. */
const MAX_CAS_ROUNDS = 1_000;

/** Options of {@link Cache.wrapWithCondition}. */
export interface WrapConditionOptions<T> {
  /** Cache the loaded value only when this returns true (may be async). @default every value except undefined */
  isCacheable?: (value: T) => boolean | Promise<boolean>;
  /** `false` skips the cache entirely: no read, no write, just the loader. @default true */
  useCache?: boolean;
  /** Lifetime of the stored value in ms. @default the cache's ttl (none: no expiry) */
  ttl?: number;
}

/** One entry for {@link Cache.mset}: a `[key, value]` pair or `{ key, value }`. */
export type CacheEntry = readonly [string, unknown] | { readonly key: string; readonly value: unknown };

const WRAP_OPTIONS = ['isCacheable', 'useCache', 'ttl'] as const;

/**
 * A cache. Values are JSON; `null`, `0`, `false` and `''` are stored values, not misses, and a
 * miss reads as `undefined` (which is why `undefined` cannot be stored). TTLs are in ms.
 */
export class Cache {
  /** The cache's name, as given to `createCache`. */
  readonly name: string;
  /** The key prefix this cache owns (`<app>:cache:<prefix or name>:`, app and prefix escaped: `cacheNamespace()`). */
  readonly namespace: string;
  private readonly flights = new Map<string, Promise<unknown>>();

  constructor(private readonly init: CacheInit) {
    this.name = init.name;
    this.namespace = init.namespace;
  }

  /** The value under `key`, or `undefined` when missing or expired. */
  async get<T = unknown>(key: string): Promise<T | undefined> {
    const full = this.key(key);
    const store = await this.init.store();
    return this.decode<T>(full, await store.get(full));
  }

  /**
   * Stores `value` (JSON) under `key`.
   * @param ttl lifetime in ms. @default the cache's ttl (none: no expiry)
   */
  async set(key: string, value: unknown, ttl?: number): Promise<void> {
    const full = this.key(key);
    const text = this.encode(value);
    const ttlMs = this.ttlOf(ttl);
    const store = await this.init.store();
    await store.set(full, text, ttlMs === undefined ? {} : { ttlMs });
  }

  /** Deletes `key`; resolves whether it existed. */
  async del(key: string): Promise<boolean> {
    const full = this.key(key);
    return (await this.init.store()).del(full);
  }

  /** Deletes every key of this cache, and only those (never FLUSHDB, never KEYS). */
  async reset(): Promise<void> {
    await (await this.init.store()).clear(this.namespace);
  }

  /** Values for several keys, in order (`undefined` for misses). Accepts `mget(a, b)` or `mget([a, b])`. */
  async mget<T = unknown>(...keys: string[] | [readonly string[]]): Promise<(T | undefined)[]> {
    const list = flatKeys(keys).map((key) => this.key(key));
    if (list.length === 0) return [];
    const texts = await (await this.init.store()).mget(list);
    return texts.map((text, i) => this.decode<T>(list[i]!, text));
  }

  /**
   * Stores several values: `mset([[k, v], ...], ttl?)` or `mset([{ key, value }, ...], ttl?)`.
   * @param ttl lifetime in ms. @default the cache's ttl (none: no expiry)
   */
  async mset(entries: readonly CacheEntry[], ttl?: number): Promise<void> {
    if (!Array.isArray(entries)) {
      throw new ClusterError(ErrorCodes.INVALID_ARGUMENT, `mset needs an array of entries, got ${describe(entries)}`);
    }
    const pairs = entries.map((entry): [string, string] => {
      const [key, value] = entryParts(entry);
      return [this.key(key), this.encode(value)];
    });
    const ttlMs = this.ttlOf(ttl);
    if (pairs.length === 0) return;
    await (await this.init.store()).mset(pairs, ttlMs);
  }

  /** Deletes several keys; resolves how many existed. Accepts `mdel(a, b)` or `mdel([a, b])`. */
  async mdel(...keys: string[] | [readonly string[]]): Promise<number> {
    const list = flatKeys(keys).map((key) => this.key(key));
    if (list.length === 0) return 0;
    return (await this.init.store()).mdel(list);
  }

  /**
   * This cache's keys (its namespace stripped), optionally only those matching a Redis-style glob
   * `pattern` (`*`, `?`, `[abc]`, `\\` escapes). Walks the store with SCAN in batches, never KEYS. (NocoBase)
   */
  async keys(pattern?: string): Promise<string[]> {
    const match = pattern === undefined ? undefined : globMatcher(pattern);
    const store = await this.init.store();
    const keys: string[] = [];
    for await (const full of store.scan(this.namespace)) {
      const key = full.slice(this.namespace.length);
      if (match === undefined || match(key)) keys.push(key);
    }
    return keys;
  }

  /** Remaining lifetime of `key` in ms: `-1` when it never expires, `-2` when it is missing. (NocoBase) */
  async ttl(key: string): Promise<number> {
    const full = this.key(key);
    return (await this.init.store()).pttl(full);
  }

  /** The field `objectKey` of the object stored under `key`; `undefined` when either is missing. (NocoBase) */
  async getValueInObject<T = unknown>(key: string, objectKey: string): Promise<T | undefined> {
    const field = assertObjectKey(objectKey);
    return fieldOf(await this.get(key), field) as T | undefined;
  }

  /**
   * Sets one field of the object stored under `key` (a missing key starts as `{}`), atomically: a
   * concurrent write of another field, on any node, is never lost. The object is written with the
   * cache's default ttl, as NocoBase does. Refuses a stored value that is not an object. (NocoBase)
   */
  async setValueInObject(key: string, objectKey: string, value: unknown): Promise<void> {
    const field = assertObjectKey(objectKey);
    if (value !== undefined) this.encode(value);
    await this.updateObject(key, (object) => withField(object, field, value));
  }

  /** Deletes one field of the object stored under `key`, atomically (see `setValueInObject`). (NocoBase) */
  async delValueInObject(key: string, objectKey: string): Promise<void> {
    const field = assertObjectKey(objectKey);
    await this.updateObject(key, (object) => withoutField(object, field));
  }

  private async updateObject(
    key: string,
    change: (object: Record<string, unknown>) => Record<string, unknown>,
  ): Promise<void> {
    const full = this.key(key);
    const store = await this.init.store();
    const options = this.init.ttl === undefined ? {} : { ttlMs: this.init.ttl };
    const next = (text: string | undefined) => this.encode(change(asObject(key, this.decode(full, text))));
    if (store.compareAndSet) {
      for (let round = 0; round < MAX_CAS_ROUNDS; round++) {
        const text = await store.get(full);
        if (await store.compareAndSet(full, text, next(text), options)) return;
        // Lost a race: let the winner's burst pass before reading again.
        await new Promise<void>((resolve) => setTimeout(resolve, Math.floor(Math.random() * Math.min(round, 20))));
      }
      throw new ClusterError(ErrorCodes.BACKEND_UNAVAILABLE, `cache "${this.name}": "${key}" kept changing under us`, {
        details: { key, rounds: MAX_CAS_ROUNDS },
      });
    }
    const write = async () => {
      await store.set(full, next(await store.get(full)), options);
    };
    await (this.init.withLock ? this.init.withLock(full, write) : write());
  }

  /**
   * The cached value of `key`, or `loader()`'s result, stored for next time. Concurrent calls for
   * one key on this node share one read and one loader run; if the loader throws, every caller
   * gets the error and nothing is cached. A loader result of `undefined` is returned, not stored.
   * @param ttl lifetime in ms of the stored value. @default the cache's ttl (none: no expiry)
   */
  async wrap<T>(key: string, loader: () => T | Promise<T>, ttl?: number): Promise<T> {
    const full = this.key(key);
    assertFunction('wrap loader', loader);
    const ttlMs = this.ttlOf(ttl);
    const store = this.init.connectedStore?.() ?? (await this.init.store());
    const hit = this.peek<T>(store, full);
    if (hit !== undefined) return hit;
    return this.singleFlight(key, full, store, loader, ttlMs, (value) => value !== undefined);
  }

  /**
   * `wrap` with conditions (NocoBase): `useCache: false` bypasses the cache (loader only);
   * `isCacheable(value)` false returns the value without storing it.
   */
  async wrapWithCondition<T>(key: string, loader: () => T | Promise<T>, options?: WrapConditionOptions<T>): Promise<T> {
    this.key(key);
    assertFunction('wrapWithCondition loader', loader);
    const opts = assertOptions('wrapWithCondition', options, WRAP_OPTIONS);
    if (opts.isCacheable !== undefined) assertFunction('isCacheable', opts.isCacheable);
    const useCache = booleanOption('useCache', opts.useCache, true);
    const ttlMs = this.ttlOf(opts.ttl);
    if (!useCache) return loader();
    const isCacheable = opts.isCacheable;
    const full = this.key(key);
    const store = this.init.connectedStore?.() ?? (await this.init.store());
    const hit = this.peek<T>(store, full);
    if (hit !== undefined) return hit;
    return this.singleFlight(key, full, store, loader, ttlMs, async (value) =>
      value === undefined ? false : isCacheable ? await isCacheable(value) : true,
    );
  }

  /**
   * The hit path of a store that answers synchronously (memory): one read, nothing else — no flight
   * bookkeeping, no promise hop. Undefined on a miss, or when the store has no `peek`: then the read
   * happens inside the flight, which every concurrent caller joins synchronously (a read outside it
   * would let callers whose reads resolve after a failed flight start the loader again).
   */
  private peek<T>(store: CacheStore, full: string): T | undefined {
    const text = store.peek?.(full);
    return text === undefined ? undefined : this.decode<T>(full, text);
  }

  /** Joins the running load of `key` on this node, or starts one (which reads the store first). */
  private singleFlight<T>(
    key: string,
    full: string,
    store: CacheStore,
    loader: () => T | Promise<T>,
    ttlMs: number | undefined,
    shouldStore: (value: T) => boolean | Promise<boolean>,
  ): Promise<T> {
    const running = this.flights.get(key);
    if (running) return running as Promise<T>;
    const flight = (async () => {
      // The read is inside the flight: a caller arriving while the loader runs joins it instead of
      // missing the store and starting a second loader.
      const hit = this.decode<T>(full, await store.get(full));
      if (hit !== undefined) return hit;
      const value = await loader();
      if (await shouldStore(value)) {
        const text = this.encode(value);
        await store.set(full, text, ttlMs === undefined ? {} : { ttlMs });
      }
      return value;
    })();
    this.flights.set(key, flight);
    const forget = () => {
      if (this.flights.get(key) === flight) this.flights.delete(key);
    };
    flight.then(forget, forget);
    return flight;
  }

  /** The full store key of `key` (validated). */
  private key(key: unknown): string {
    return this.namespace + assertName('cache key', key);
  }

  private ttlOf(ttl: number | undefined): number | undefined {
    return ttl === undefined ? this.init.ttl : assertDuration('ttl', ttl);
  }

  private encode(value: unknown): string {
    return serializePayload('cache value', value, this.init.context.maxPayloadBytes);
  }

  private decode<T>(fullKey: string, text: string | undefined): T | undefined {
    if (text === undefined) return undefined;
    try {
      return JSON.parse(text) as T;
    } catch (error) {
      // Someone wrote a non-JSON value under our namespace through the raw store: read it as a miss.
      this.init.context.logger.warn(`cache "${this.name}": value of "${fullKey}" is not JSON; treated as a miss`, {
        error,
      });
      return undefined;
    }
  }
}

function flatKeys(keys: readonly unknown[]): unknown[] {
  return keys.length === 1 && Array.isArray(keys[0]) ? [...(keys[0] as unknown[])] : [...keys];
}

function entryParts(entry: unknown): [string, unknown] {
  if (Array.isArray(entry) && entry.length === 2) return [entry[0] as string, entry[1]];
  if (typeof entry === 'object' && entry !== null && 'key' in entry && 'value' in entry) {
    return [(entry as { key: string }).key, (entry as { value: unknown }).value];
  }
  throw new ClusterError(
    ErrorCodes.INVALID_ARGUMENT,
    `mset entries must be [key, value] pairs or { key, value } objects, got ${describe(entry)}`,
  );
}
