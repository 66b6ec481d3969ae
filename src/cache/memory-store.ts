/**
 * In-process cache store: a Map with per-key expiry and a bounded LRU, kept in a
 * {@link MemoryBackend} so every app built on one backend sees the same keys.
 */
import { ClusterError, ErrorCodes } from '../errors.js';
import { createMemoryBackend, type MemoryBackend } from '../memory-backend.js';
import { assertInteger } from '../validation.js';
import type { CacheStore, StoreCasOptions, StoreSetOptions } from './types.js';

/** Default bound on entries kept by a memory backend's cache before the least recently used are evicted. */
export const DEFAULT_MEMORY_CACHE_MAX_ENTRIES = 100_000;
/** How often, at most, a write triggers a full sweep of expired entries, in ms. */
const SWEEP_INTERVAL_MS = 10_000;
/** Keys yielded by `scan` between yields to the event loop. */
const SCAN_BATCH = 500;

/** Options of {@link MemoryCacheStore}. */
export interface MemoryCacheStoreOptions {
  /**
   * Most entries kept (all apps on the backend together); past it the least recently used are
   * evicted. `Infinity` disables eviction. Only the first store created on a backend sets it.
   * @default 100000
   */
  maxEntries?: number;
}

interface Entry {
  value: string;
  /** Epoch ms; undefined = no expiry. */
  expiresAt: number | undefined;
}

/** The state all memory cache stores on one backend share. */
class MemoryCacheState {
  /** Map order is recency order: a read or write moves the key to the end. */
  readonly entries = new Map<string, Entry>();
  private nextSweepAt = Date.now() + SWEEP_INTERVAL_MS;

  constructor(readonly maxEntries: number) {}

  read(key: string, touch = true): Entry | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt !== undefined && entry.expiresAt <= Date.now()) {
      this.entries.delete(key);
      return undefined;
    }
    if (touch) {
      this.entries.delete(key);
      this.entries.set(key, entry);
    }
    return entry;
  }

  write(key: string, value: string, ttlMs: number | undefined): void {
    this.entries.delete(key);
    this.entries.set(key, { value, expiresAt: ttlMs === undefined ? undefined : Date.now() + ttlMs });
    this.maintain();
  }

  private maintain(): void {
    const now = Date.now();
    if (now >= this.nextSweepAt) {
      this.nextSweepAt = now + SWEEP_INTERVAL_MS;
      for (const [key, entry] of this.entries) {
        if (entry.expiresAt !== undefined && entry.expiresAt <= now) this.entries.delete(key);
      }
    }
    while (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next();
      if (oldest.done) break;
      this.entries.delete(oldest.value);
    }
  }
}

/**
 * Cache store for one process (kind `'memory'`). Several apps given stores on one backend share
 * the keys (the cache manager namespaces them by app and cache). Expired entries are dropped on
 * access and by an occasional sweep on writes.
 */
export class MemoryCacheStore implements CacheStore {
  readonly kind = 'memory';
  private readonly state: MemoryCacheState;
  private connected = false;

  constructor(backend: MemoryBackend = createMemoryBackend(), options: MemoryCacheStoreOptions = {}) {
    const maxEntries =
      options.maxEntries === undefined
        ? DEFAULT_MEMORY_CACHE_MAX_ENTRIES
        : options.maxEntries === Infinity
          ? Infinity
          : assertInteger('maxEntries', options.maxEntries, 1);
    this.state = backend.part('cache', () => new MemoryCacheState(maxEntries));
  }

  async connect(): Promise<void> {
    this.connected = true;
  }

  async close(): Promise<void> {
    this.connected = false;
  }

  async get(key: string): Promise<string | undefined> {
    this.assertConnected();
    return this.state.read(key)?.value;
  }

  /** {@link get}, synchronously (the value is in this process). */
  peek(key: string): string | undefined {
    this.assertConnected();
    return this.state.read(key)?.value;
  }

  async mget(keys: readonly string[]): Promise<(string | undefined)[]> {
    this.assertConnected();
    return keys.map((key) => this.state.read(key)?.value);
  }

  async set(key: string, value: string, options: StoreSetOptions = {}): Promise<boolean> {
    this.assertConnected();
    if (options.nx && this.state.read(key, false)) return false;
    this.state.write(key, value, options.ttlMs);
    return true;
  }

  async mset(entries: readonly (readonly [string, string])[], ttlMs?: number): Promise<void> {
    this.assertConnected();
    for (const [key, value] of entries) this.state.write(key, value, ttlMs);
  }

  async del(key: string): Promise<boolean> {
    this.assertConnected();
    const existed = this.state.read(key, false) !== undefined;
    this.state.entries.delete(key);
    return existed;
  }

  async mdel(keys: readonly string[]): Promise<number> {
    this.assertConnected();
    let count = 0;
    for (const key of new Set(keys)) {
      if (this.state.read(key, false)) count += 1;
      this.state.entries.delete(key);
    }
    return count;
  }

  async incr(key: string, by = 1, ttlMs?: number): Promise<number> {
    this.assertConnected();
    const entry = this.state.read(key);
    const current = entry === undefined ? 0 : Number(entry.value);
    if (!Number.isSafeInteger(current) || !Number.isSafeInteger(by)) {
      throw new ClusterError(ErrorCodes.INVALID_ARGUMENT, `incr: value of "${key}" or increment is not an integer`, {
        details: { key },
      });
    }
    const next = current + by;
    if (entry) entry.value = String(next);
    else this.state.write(key, String(next), ttlMs);
    return next;
  }

  async compareAndSet(
    key: string,
    expected: string | undefined,
    value: string,
    options: StoreCasOptions = {},
  ): Promise<boolean> {
    this.assertConnected();
    // One synchronous step: no other caller on the backend can write between the read and the write.
    if (this.state.read(key, false)?.value !== expected) return false;
    this.state.write(key, value, options.ttlMs);
    return true;
  }

  async expire(key: string, ttlMs: number): Promise<boolean> {
    this.assertConnected();
    const entry = this.state.read(key, false);
    if (!entry) return false;
    entry.expiresAt = Date.now() + ttlMs;
    return true;
  }

  async pttl(key: string): Promise<number> {
    this.assertConnected();
    const entry = this.state.read(key, false);
    if (!entry) return -2;
    return entry.expiresAt === undefined ? -1 : Math.max(0, entry.expiresAt - Date.now());
  }

  async *scan(prefix: string): AsyncIterable<string> {
    this.assertConnected();
    // A snapshot: keys written during the scan may or may not appear, as with Redis SCAN.
    const keys = [...this.state.entries.keys()].filter((key) => key.startsWith(prefix));
    for (let i = 0; i < keys.length; i += 1) {
      const key = keys[i]!;
      if (this.state.read(key, false)) yield key;
      if (i % SCAN_BATCH === SCAN_BATCH - 1) await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }

  async clear(prefix: string): Promise<void> {
    this.assertConnected();
    for (const key of [...this.state.entries.keys()]) {
      if (key.startsWith(prefix)) this.state.entries.delete(key);
    }
  }

  private assertConnected(): void {
    if (!this.connected) throw new ClusterError(ErrorCodes.NOT_CONNECTED, 'memory cache store is not connected');
  }
}
