/**
 * The cache manager: owns the stores (the default one plus any registered), connects and closes
 * them, and creates named caches, each under its own key namespace.
 */
import { standaloneContext, type ManagerContext } from '../context.js';
import { ClusterError, ErrorCodes } from '../errors.js';
import { cacheNamespace } from '../names.js';
import { ManagerLifecycle } from '../manager-lifecycle.js';
import { assertDuration, assertName, assertOptions, describe } from '../validation.js';
import { LockManager } from '../lock/lock-manager.js';
import { Cache } from './cache.js';
import { StoreCounter, type Counter } from './counter.js';
import { MemoryCacheStore } from './memory-store.js';
import type { CacheStore } from './types.js';

/** Options of the {@link CacheManager} constructor. */
export interface CacheManagerOptions {
  /** The default store: `app.cache`'s and `createCache()`'s without `store`. @default a new {@link MemoryCacheStore} */
  store?: CacheStore;
  /** Namespace, logger, payload limit. @default a standalone context (app name 'main') */
  context?: ManagerContext;
  /**
   * Connect on first use instead of requiring `connect()`.
   * @default true when no `context` is given (standalone), false inside an app
   */
  autoConnect?: boolean;
  /**
   * The locks of the lock-backed fallbacks (counters on a store without atomic `incr`,
   * `setValueInObject` on a store without `compareAndSet`). An app passes its `lockManager`.
   * @default a standalone in-process `LockManager`, created on first need
   */
  lockManager?: LockManager;
}

/** Options of {@link CacheManager.createCounter}. */
export interface CreateCounterOptions {
  /** The counter's name; also its key namespace unless `prefix` is given (shared with a cache of that name). */
  name: string;
  /** Key namespace inside the app (`<app>:cache:<prefix>:`). @default name */
  prefix?: string;
  /** Store kind, as in `createCache`. @default the default store's kind */
  store?: string;
}

/** Options of {@link CacheManager.createCache}. */
export interface CreateCacheOptions {
  /** Name for `getCache(name)`; also the namespace unless `prefix` is given. */
  name: string;
  /** Key namespace inside the app (`<app>:cache:<prefix>:`, app and prefix escaped: `cacheNamespace()`). Caches given one prefix share keys. @default name */
  prefix?: string;
  /** Store kind: 'memory' (always available), 'redis', or any registered store's kind. @default the default store's kind */
  store?: string;
  /** Lifetime in ms of values written without a ttl. @default none (no expiry) */
  ttl?: number;
}

const MANAGER_OPTIONS = ['store', 'context', 'autoConnect', 'lockManager'] as const;
const COUNTER_OPTIONS = ['name', 'prefix', 'store'] as const;
const CREATE_OPTIONS = ['name', 'prefix', 'store', 'ttl'] as const;

/** Creates and holds named caches. `app.cacheManager` in an app; constructible on its own. */
export class CacheManager {
  private defaultStore: CacheStore;
  private readonly extraStores = new Map<string, CacheStore>();
  private readonly caches = new Map<string, Cache>();
  private readonly context: ManagerContext;
  private readonly lifecycle: ManagerLifecycle;
  private autoMemory: CacheStore | undefined;
  private locks: LockManager | undefined;

  constructor(options: CacheManagerOptions = {}) {
    assertOptions('new CacheManager', options, MANAGER_OPTIONS);
    this.defaultStore = options.store ?? new MemoryCacheStore();
    this.ensureMemoryStore();
    this.context = options.context ?? standaloneContext();
    this.locks = options.lockManager;
    this.lifecycle = new ManagerLifecycle({
      property: 'cacheManager',
      noun: 'cache manager',
      autoConnect: options.autoConnect ?? options.context === undefined,
      open: () => Promise.all(this.allStores().map((store) => store.connect())).then(() => {}),
    });
  }

  /**
   * The default store, as a portable key/value store (atomic `set` with `nx`, `incr`, `expire`,
   * `scan`). Keys given to it are used as they are: namespace them yourself (the managed job layer
   * uses `<app>:jobs:...`). Usable once the manager is connected.
   */
  get store(): CacheStore {
    return this.defaultStore;
  }

  /** Replaces the default store. Refused with `INVALID_STATE` once connected. */
  setAdapter(store: CacheStore): void {
    this.lifecycle.assertIdle('setAdapter');
    assertStore(store);
    this.defaultStore = store;
    this.ensureMemoryStore();
  }

  /** Adds a store selectable by its `kind` in `createCache({ store })`. Connected at once if the manager is. */
  async registerStore(store: CacheStore): Promise<void> {
    assertStore(store);
    const existing = this.extraStores.get(store.kind);
    // The built-in in-process 'memory' store may be replaced (say, by one on a shared backend).
    if (store.kind === this.defaultStore.kind || (existing && existing !== this.autoMemory)) {
      throw new ClusterError(ErrorCodes.INVALID_STATE, `a cache store of kind "${store.kind}" is already registered`);
    }
    this.extraStores.set(store.kind, store);
    if (this.lifecycle.isConnected()) {
      await store.connect();
      if (existing) await existing.close();
    }
  }

  /** Connects every store. Idempotent; may be called again after `close()`. */
  connect(): Promise<void> {
    return this.lifecycle.connect();
  }

  /** Closes every store. Cached values in a shared backend (Redis) stay. */
  async close(): Promise<void> {
    if (!(await this.lifecycle.beginClose())) return;
    await Promise.all(this.allStores().map((store) => store.close()));
  }

  /** True between a finished `connect()` and `close()`. */
  isConnected(): boolean {
    return this.lifecycle.isConnected();
  }

  /**
   * Creates a named cache (synchronously; usable once the manager is connected). Creating a name
   * again replaces the registry entry (plugin reloads), as NocoBase does.
   */
  createCache(options: CreateCacheOptions): Cache {
    const opts = assertOptions('createCache', options, CREATE_OPTIONS);
    const name = assertName('cache name', opts.name);
    const prefix = opts.prefix === undefined ? name : assertName('cache prefix', opts.prefix);
    const kind = opts.store === undefined ? this.defaultStore.kind : assertName('cache store', opts.store);
    // Fail at creation, not at first use, when the kind is unknown.
    this.storeOf(kind);
    const cache = new Cache({
      name,
      namespace: cacheNamespace(this.context.appName, prefix),
      ttl: opts.ttl === undefined ? undefined : assertDuration('ttl', opts.ttl),
      context: this.context,
      store: async () => {
        await this.lifecycle.ensureConnected();
        return this.storeOf(kind);
      },
      connectedStore: () => (this.lifecycle.isConnected() ? this.storeOf(kind) : undefined),
      withLock: (key, fn) => this.lockManager().runExclusive(`cache:${key}`, fn),
    });
    this.caches.set(name, cache);
    return cache;
  }

  /**
   * Creates a counter (NocoBase's `createCounter`): `get`, `incr`, `incrby`, `reset`, atomic across
   * nodes on a shared store. Its keys live in the namespace of the cache of the same name (or
   * `prefix`). NocoBase's optional second argument, a lock manager, replaces the manager's own for
   * the lock-backed fallback.
   */
  createCounter(options: CreateCounterOptions, lockManager?: LockManager): Counter {
    const opts = assertOptions('createCounter', options, COUNTER_OPTIONS);
    const name = assertName('counter name', opts.name);
    const prefix = opts.prefix === undefined ? name : assertName('counter prefix', opts.prefix);
    const kind = opts.store === undefined ? this.defaultStore.kind : assertName('counter store', opts.store);
    this.storeOf(kind);
    return new StoreCounter({
      namespace: cacheNamespace(this.context.appName, prefix),
      store: async () => {
        await this.lifecycle.ensureConnected();
        return this.storeOf(kind);
      },
      lockManager: () => lockManager ?? this.lockManager(),
    });
  }

  /** The lock manager of the lock-backed fallbacks (see the `lockManager` option). */
  private lockManager(): LockManager {
    this.locks ??= new LockManager({ context: this.context, autoConnect: true });
    return this.locks;
  }

  /** The cache created under `name`; rejects with `NOT_FOUND` when there is none. */
  getCache(name: string): Cache {
    const cache = this.caches.get(assertName('cache name', name));
    if (!cache) throw new ClusterError(ErrorCodes.NOT_FOUND, `no cache named "${name}" (create it with createCache)`);
    return cache;
  }

  private storeOf(kind: string): CacheStore {
    if (kind === this.defaultStore.kind) return this.defaultStore;
    const store = this.extraStores.get(kind);
    if (!store) {
      const known = [this.defaultStore.kind, ...this.extraStores.keys()];
      throw new ClusterError(
        ErrorCodes.INVALID_OPTION,
        `unknown cache store "${kind}" (known: ${[...new Set(known)].join(', ')})`,
        {
          details: { option: 'store' },
        },
      );
    }
    return store;
  }

  /** An in-process store is always available as 'memory', even when the default store is Redis. */
  private ensureMemoryStore(): void {
    if (this.defaultStore.kind === 'memory' || this.extraStores.has('memory')) return;
    this.autoMemory = new MemoryCacheStore();
    this.extraStores.set('memory', this.autoMemory);
  }

  private allStores(): CacheStore[] {
    return [this.defaultStore, ...this.extraStores.values()];
  }
}

function assertStore(store: unknown): asserts store is CacheStore {
  const s = store as Partial<CacheStore> | null;
  if (typeof s !== 'object' || s === null || typeof s.kind !== 'string' || typeof s.get !== 'function') {
    throw new ClusterError(ErrorCodes.INVALID_ARGUMENT, `expected a CacheStore, got ${describe(store)}`);
  }
}
