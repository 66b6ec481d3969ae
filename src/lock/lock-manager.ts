/**
 * The lock manager: leases with fencing tokens over any {@link LockAdapter}. It owns waiting
 * (release notifications, never fixed polling; FIFO per key on one node), lease keeping for
 * `runExclusive`, validation and namespacing; the adapter only does atomic lease operations.
 */
import { diagnostics } from '../diagnostics.js';
import { randomUUID } from 'node:crypto';
import { standaloneContext, type ManagerContext } from '../context.js';
import { ClusterError, ErrorCodes, LockAcquireError } from '../errors.js';
import { appScopedName } from '../names.js';
import { ManagerLifecycle } from '../manager-lifecycle.js';
import { assertDuration, assertFunction, assertName, assertOptions, describe } from '../validation.js';
import { keepLeaseAlive } from './keep-lease-alive.js';
import { LockHandle, type Lock } from './lock-handle.js';
import { MemoryLockAdapter } from './memory-adapter.js';
import type { LockAdapter } from './types.js';
import { Cancellation, closedError, sleepUnless, WaitLines } from './wait-lines.js';

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
const ACQUIRE_OPTIONS = ['timeout', 'signal'] as const;

/**
 * Distributed locks. `app.lockManager` in an app; constructible on its own (memory adapter) for
 * code ported from NocoBase: `const lockManager = new LockManager()`.
 */
export class LockManager {
  private adapter: LockAdapter;
  private readonly context: ManagerContext;
  private readonly defaultTtl: number;
  private readonly lifecycle: ManagerLifecycle;
  private readonly lines = new WaitLines();
  private readonly waiting = new Set<Cancellation>();
  private readonly held = new Set<LockHandle>();

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
    for (const waiter of [...this.waiting]) waiter.cancel(closedError());
    const handles = [...this.held];
    for (const handle of handles) handle.lose('the lock manager closed');
    await Promise.allSettled(handles.map((handle) => handle.release()));
    await this.adapter.close();
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
    const name = assertName('lock key', key);
    const ms = this.ttlOf(ttl);
    const opts = assertOptions('lockManager.acquire', options, ACQUIRE_OPTIONS);
    const timeout =
      opts.timeout === undefined ? undefined : assertDuration('timeout', opts.timeout, { allowZero: true });
    if (opts.signal !== undefined && !(opts.signal instanceof AbortSignal)) {
      throw new ClusterError(ErrorCodes.INVALID_OPTION, `signal must be an AbortSignal, got ${describe(opts.signal)}`, {
        details: { option: 'signal' },
      });
    }
    await this.lifecycle.ensureConnected();
    return this.take(name, ms, { timeout, signal: opts.signal, once: false });
  }

  /**
   * Takes the lock on `key` if it is free right now; never waits. Rejects with
   * {@link LockAcquireError} (code `LOCK_ACQUIRE_FAILED`) when it is held.
   * @param ttl lease length in ms. @default 10000 (or the manager's `defaultTtl`)
   */
  async tryAcquire(key: string, ttl?: number): Promise<Lock> {
    const name = assertName('lock key', key);
    const ms = this.ttlOf(ttl);
    await this.lifecycle.ensureConnected();
    return this.take(name, ms, { once: true });
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

  private namespaced(key: string): string {
    return appScopedName(this.context.appName, key);
  }

  /** Waits for this node's turn on the key, then contends with other nodes until acquired or cancelled. */
  private async take(
    key: string,
    ttl: number,
    opts: { timeout?: number; signal?: AbortSignal; once: boolean },
  ): Promise<Lock> {
    const nsKey = this.namespaced(key);
    const calledAt = performance.now();
    const cancellation = new Cancellation();
    if (opts.signal) cancellation.linkSignal(opts.signal);
    if (opts.timeout !== undefined) {
      const timeout = opts.timeout;
      cancellation.deadline(
        timeout,
        () =>
          new LockAcquireError(`lock "${key}" not acquired within ${timeout} ms`, {
            details: { key, timeout },
          }),
      );
    }
    this.waiting.add(cancellation);
    let leave: (() => void) | undefined;
    try {
      // tryAcquire never queues behind local waiters: it only asks the backend once.
      if (!opts.once) leave = await this.lines.enter(nsKey, cancellation);
      const lock = await this.contend(key, nsKey, ttl, opts.once, cancellation);
      if (diagnostics.lockAcquired.hasSubscribers) {
        diagnostics.lockAcquired.publish({ app: this.context.appName, key, waitMs: performance.now() - calledAt });
      }
      return lock;
    } finally {
      leave?.();
      this.waiting.delete(cancellation);
      cancellation.dispose();
    }
  }

  private async contend(
    key: string,
    nsKey: string,
    ttl: number,
    once: boolean,
    cancellation: Cancellation,
  ): Promise<LockHandle> {
    const owner = `${this.context.nodeId}:${randomUUID()}`;
    let woken = false;
    let wake: () => void = () => {};
    // Uncontended locks are the common case: try first, and only after a failed try subscribe to
    // release notifications, then try once more before waiting. A release between the failed try
    // and the subscription is caught by that second try, so no notification is ever missed, and
    // the uncontended path costs one round trip instead of three (subscribe, try, unsubscribe).
    let unsubscribe: (() => Promise<void>) | undefined;
    try {
      for (;;) {
        if (cancellation.cancelled) throw cancellation.reason;
        woken = false;
        const startedAt = Date.now();
        const result = await this.adapter.tryAcquire(nsKey, owner, ttl);
        if (result.acquired) {
          const handle = new LockHandle({
            adapter: this.adapter,
            key,
            namespacedKey: nsKey,
            owner,
            fencingToken: result.fencingToken,
            ttl,
            startedAt,
            onSettled: (h) => this.held.delete(h),
          });
          this.held.add(handle);
          // A wait limit that passed during the last try still got the lock: keep it. A close or
          // an abort means nobody wants it any more.
          if (cancellation.cancelled && !(cancellation.reason instanceof LockAcquireError)) {
            handle.lose('the wait was cancelled');
            await handle.release();
            throw cancellation.reason;
          }
          return handle;
        }
        if (once) {
          throw new LockAcquireError(`lock "${key}" is held by someone else`, {
            details: { key, retryAfterMs: result.retryAfterMs },
          });
        }
        if (!unsubscribe) {
          unsubscribe = await this.adapter.onRelease(nsKey, () => {
            woken = true;
            wake();
          });
          continue;
        }
        if (woken) continue;
        const woke = new Promise<void>((resolve) => {
          wake = resolve;
        });
        // The holder's remaining lease bounds the wait (a crashed holder sends no notification);
        // a little jitter keeps several nodes from retrying in the same millisecond.
        const jitter = Math.floor(Math.random() * Math.min(50, result.retryAfterMs / 10 + 1));
        await sleepUnless(Math.max(1, result.retryAfterMs) + jitter, woke, cancellation);
      }
    } finally {
      wake = () => {};
      await unsubscribe?.().catch(() => {});
    }
  }
}
