/**
 * The lock manager: leases with fencing tokens over any {@link LockAdapter}. It owns waiting
 * (acquisitions.ts and lock-waiter.ts: hand-off and release notifications, never fixed polling; first
 * come, first served across nodes on a `fifo` adapter), lease keeping for `runExclusive`, validation
 * and namespacing; the adapter only does atomic lease and line operations.
 */
import { standaloneContext, type ManagerContext } from '../context.js';
import { ClusterError, ErrorCodes } from '../errors.js';
import { appScopedName } from '../names.js';
import { ManagerLifecycle } from '../manager-lifecycle.js';
import { assertDuration, assertFunction, assertName, assertOptions, describe } from '../validation.js';
import { Acquisitions } from './acquisitions.js';
import { keepLeaseAlive } from './keep-lease-alive.js';
import type { Lock } from './lock-handle.js';
import { MemoryLockAdapter } from './memory-adapter.js';
import type { LockAdapter, LockCapabilities } from './types.js';

export type { Lock } from './lock-handle.js';

/** Lease length used when a call gives no ttl, in ms. */
export const DEFAULT_LOCK_TTL_MS = 10_000;

/** Options of the {@link LockManager} constructor. */
export interface LockManagerOptions {
  /** @default a new {@link MemoryLockAdapter} (locks local to this manager) */
  adapter?: LockAdapter;
  /** Namespace, node id, logger. @default a standalone context (app name 'main') */
  context?: ManagerContext;
  /** Lease length in ms when a call gives none. @default 10000 */
  defaultTtl?: number;
  /**
   * Connect on first use instead of requiring `connect()` (NocoBase's standalone behaviour).
   * @default true when no `context` is given (standalone), false inside an app
   */
  autoConnect?: boolean;
}

/** Options of {@link LockManager.acquire}. */
export interface AcquireOptions {
  /** Longest wait in ms before rejecting with {@link LockAcquireError}; 0 = try once. @default wait indefinitely */
  timeout?: number;
  /** Aborting it stops the wait; the call rejects with the signal's reason. */
  signal?: AbortSignal;
}

const MANAGER_OPTIONS = ['adapter', 'context', 'defaultTtl', 'autoConnect'] as const;
const NOT_FIFO: LockCapabilities = Object.freeze({ fifo: false });
const ACQUIRE_OPTIONS = ['timeout', 'signal'] as const;
/** How many keys' validated, namespaced names a manager keeps (a program locks a few keys over and over). */
const KEY_CACHE_SIZE = 256;

/**
 * Distributed locks. `app.lockManager` in an app; constructible on its own (memory adapter) for
 * code ported from NocoBase: `const lockManager = new LockManager()`.
 */
export class LockManager {
  private adapter: LockAdapter;
  private readonly context: ManagerContext;
  private readonly defaultTtl: number;
  private readonly lifecycle: ManagerLifecycle;
  /** Waits, first attempts and held locks. */
  private readonly acquisitions: Acquisitions;
  /** Validated keys and their namespaced names (see {@link KEY_CACHE_SIZE}). */
  private readonly keys = new Map<string, string>();

  constructor(options: LockManagerOptions = {}) {
    assertOptions('new LockManager', options, MANAGER_OPTIONS);
    this.adapter = options.adapter ?? new MemoryLockAdapter();
    this.context = options.context ?? standaloneContext();
    this.defaultTtl =
      options.defaultTtl === undefined ? DEFAULT_LOCK_TTL_MS : assertDuration('defaultTtl', options.defaultTtl);
    this.lifecycle = new ManagerLifecycle({
      property: 'lockManager',
      noun: 'lock manager',
      autoConnect: options.autoConnect ?? options.context === undefined,
      open: () => this.adapter.connect(),
    });
    this.acquisitions = new Acquisitions({
      adapter: () => this.adapter,
      context: this.context,
      isOpen: () => this.lifecycle.isConnected(),
    });
  }

  /** Opens the adapter. Idempotent; may be called again after `close()`. */
  connect(): Promise<void> {
    return this.lifecycle.connect();
  }

  /**
   * Rejects pending waiters with `NOT_CONNECTED`, marks held locks lost (their signals abort),
   * releases them (best effort; a lease that cannot be released expires), then closes the adapter.
   */
  async close(): Promise<void> {
    if (!(await this.lifecycle.beginClose())) return;
    await this.acquisitions.cancelAll();
    await this.adapter.close();
  }

  /** What the adapter can do: `fifo` = waiters are served first come, first served across nodes. */
  get capabilities(): LockCapabilities {
    return this.adapter.capabilities ?? NOT_FIFO;
  }

  /** True between a finished `connect()` and `close()`. */
  isConnected(): boolean {
    return this.lifecycle.isConnected();
  }

  /** Replaces the adapter. Refused with `INVALID_STATE` once connected (NocoBase rule). */
  setAdapter(adapter: LockAdapter): void {
    this.lifecycle.assertIdle('setAdapter');
    if (typeof adapter !== 'object' || adapter === null || typeof adapter.tryAcquire !== 'function') {
      throw new ClusterError(ErrorCodes.INVALID_ARGUMENT, `setAdapter() needs a LockAdapter, got ${describe(adapter)}`);
    }
    this.adapter = adapter;
  }

  /**
   * Takes the lock on `key`, waiting while someone else holds it (indefinitely unless `timeout`).
   * Waiters wake on a release notification or when the holder's lease would run out.
   * @param ttl lease length in ms. @default 10000 (or the manager's `defaultTtl`)
   */
  async acquire(key: string, ttl?: number, options?: AcquireOptions): Promise<Lock> {
    const nsKey = this.keyOf(key);
    const ms = this.ttlOf(ttl);
    const opts = assertOptions('lockManager.acquire', options, ACQUIRE_OPTIONS);
    const timeout =
      opts.timeout === undefined ? undefined : assertDuration('timeout', opts.timeout, { allowZero: true });
    if (opts.signal !== undefined && !(opts.signal instanceof AbortSignal)) {
      throw new ClusterError(ErrorCodes.INVALID_OPTION, `signal must be an AbortSignal, got ${describe(opts.signal)}`, {
        details: { option: 'signal' },
      });
    }
    if (!this.lifecycle.isConnected()) await this.lifecycle.ensureConnected();
    // `timeout: 0` tries once, like tryAcquire: it never joins the line only to leave it at once.
    // Without a limit or a signal, the first attempt is made without a waiter (`quick`).
    if (opts.signal === undefined && (timeout === 0 || (timeout === undefined && this.capabilities.fifo))) {
      return await this.acquisitions.quick(key, nsKey, ms, timeout === 0);
    }
    return this.acquisitions.take(key, nsKey, ms, { timeout, signal: opts.signal, once: timeout === 0 });
  }

  /**
   * Takes the lock on `key` if it is free right now; never waits. Rejects with
   * {@link LockAcquireError} (code `LOCK_ACQUIRE_FAILED`) when it is held.
   * @param ttl lease length in ms. @default 10000 (or the manager's `defaultTtl`)
   */
  async tryAcquire(key: string, ttl?: number): Promise<Lock> {
    const nsKey = this.keyOf(key);
    const ms = this.ttlOf(ttl);
    if (!this.lifecycle.isConnected()) await this.lifecycle.ensureConnected();
    return await this.acquisitions.quick(key, nsKey, ms, true);
  }

  /**
   * Runs `fn` while holding the lock on `key`, and returns what it returns. Waits for the lock,
   * extends the lease every ttl/3 while `fn` runs, and releases it when `fn` settles (also on throw).
   * If the lease is lost while `fn` runs, `lock.signal` aborts; when `fn` then resolves, the call
   * rejects with `LOCK_LOST`, since exclusivity was not guaranteed for the whole run.
   * @param ttl lease length in ms; it only bounds how long a crashed holder blocks others. @default 10000
   */
  async runExclusive<T>(key: string, fn: (lock: Lock) => T | Promise<T>, ttl?: number): Promise<T> {
    assertName('lock key', key);
    assertFunction('runExclusive fn', fn);
    const ms = this.ttlOf(ttl);
    const lock = await this.acquire(key, ms);
    const stopKeeping = keepLeaseAlive(lock, ms, this.context.logger);
    try {
      const value = await fn(lock);
      if (lock.signal.aborted) throw lock.signal.reason;
      return value;
    } finally {
      stopKeeping();
      await lock.release().catch((error: unknown) => {
        // The lease expires on its own; the caller's result matters more than a failed release.
        this.context.logger.warn(`could not release lock "${key}"`, { error });
      });
    }
  }

  private ttlOf(ttl: number | undefined): number {
    return ttl === undefined ? this.defaultTtl : assertDuration('ttl', ttl);
  }

  /** Validates `key` and returns its namespaced name; both are done once per key while it is in use. */
  private keyOf(key: string): string {
    let nsKey = this.keys.get(key);
    if (nsKey === undefined) {
      nsKey = appScopedName(this.context.appName, assertName('lock key', key));
      if (this.keys.size >= KEY_CACHE_SIZE) this.keys.clear();
      this.keys.set(key, nsKey);
    }
    return nsKey;
  }


}
