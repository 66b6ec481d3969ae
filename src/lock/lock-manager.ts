/**
 * The lock manager: leases with fencing tokens over any {@link LockAdapter}. It owns waiting
 * (lock-waiter.ts: hand-off and release notifications, never fixed polling; first come, first served
 * across nodes on a `fifo` adapter), lease keeping for `runExclusive`, validation and namespacing;
 * the adapter only does atomic lease and line operations.
 */
import { diagnostics } from '../diagnostics.js';
import { randomBytes } from 'node:crypto';
import { standaloneContext, type ManagerContext } from '../context.js';
import { ClusterError, ErrorCodes, LockAcquireError } from '../errors.js';
import { appScopedName } from '../names.js';
import { ManagerLifecycle } from '../manager-lifecycle.js';
import { assertDuration, assertFunction, assertName, assertOptions, describe } from '../validation.js';
import { keepLeaseAlive } from './keep-lease-alive.js';
import { LockHandle, type Lock } from './lock-handle.js';
import { MemoryLockAdapter } from './memory-adapter.js';
import { LockWaiter, type Grant } from './lock-waiter.js';
import type { LockAdapter, LockCapabilities } from './types.js';
import { Cancellation, closedError, WaitLines } from './wait-lines.js';

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
/** How long `close()` lets cancelled waiters leave the backend's line, in ms. */
const CLOSE_WAIT_MS = 1_000;

/** Resolves when every promise settled, or after `ms`, whichever comes first. */
async function settleWithin(promises: Promise<unknown>[], ms: number): Promise<void> {
  if (promises.length === 0) return;
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    Promise.allSettled(promises),
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, ms);
    }),
  ]);
  clearTimeout(timer);
}
const ACQUIRE_OPTIONS = ['timeout', 'signal'] as const;

/** "This wait has cleaned up", as a promise made only when `close()` asks for one. */
class Settled {
  private done = false;
  private resolve: (() => void) | undefined;
  private made: Promise<void> | undefined;

  settle(): void {
    this.done = true;
    this.resolve?.();
  }

  promise(): Promise<void> {
    this.made ??= this.done
      ? Promise.resolve()
      : new Promise<void>((resolve) => {
          this.resolve = resolve;
        });
    return this.made;
  }
}

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
  /** Pending waits; `close()` cancels them and waits until each has cleaned up (left the line). */
  private readonly waiting = new Map<Cancellation, Settled>();
  /**
   * Owner tokens are `<node id>:<random per manager>:<sequence>`: unique without a UUID per call. The
   * node id already holds a UUID in an app; 48 random bits only tell managers sharing a node id apart,
   * and a short token is cheaper to send, store and compare twice per acquire+release.
   */
  private readonly ownerBase = randomBytes(6).toString('base64url');
  private ownerSeq = 0;
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
    const waits = [...this.waiting];
    for (const [waiter] of waits) waiter.cancel(closedError());
    // Cancelled waiters leave the backend's line; give them a bounded moment to do it before the
    // adapter closes (a place that is not removed lapses on its own after its ttl).
    await settleWithin(
      waits.map(([, settled]) => settled.promise()),
      CLOSE_WAIT_MS,
    );
    const handles = [...this.held];
    for (const handle of handles) handle.lose('the lock manager closed');
    await Promise.allSettled(handles.map((handle) => handle.release()));
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
    if (!this.lifecycle.isConnected()) await this.lifecycle.ensureConnected();
    // `timeout: 0` tries once, like tryAcquire: it never joins the line only to leave it at once.
    return this.take(name, ms, { timeout, signal: opts.signal, once: timeout === 0 });
  }

  /**
   * Takes the lock on `key` if it is free right now; never waits. Rejects with
   * {@link LockAcquireError} (code `LOCK_ACQUIRE_FAILED`) when it is held.
   * @param ttl lease length in ms. @default 10000 (or the manager's `defaultTtl`)
   */
  async tryAcquire(key: string, ttl?: number): Promise<Lock> {
    const name = assertName('lock key', key);
    const ms = this.ttlOf(ttl);
    if (!this.lifecycle.isConnected()) await this.lifecycle.ensureConnected();
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

  /**
   * Gets the lock for a new owner. With a `fifo` adapter every waiter stands in the backend's line
   * (first come, first served across nodes); otherwise only the first local waiter per key talks to
   * the backend and the others wait their turn on this node.
   */
  private async take(
    key: string,
    ttl: number,
    opts: { timeout?: number; signal?: AbortSignal; once: boolean },
  ): Promise<Lock> {
    const nsKey = this.namespaced(key);
    const calledAt = performance.now();
    const cancellation = new Cancellation();
    const waiter = new LockWaiter({
      adapter: this.adapter,
      key: nsKey,
      name: key,
      owner: `${this.context.nodeId}:${this.ownerBase}:${(this.ownerSeq += 1)}`,
      ttl,
      cancellation,
      onOutage: (error) => this.context.logger.warn(`lock "${key}": backend unavailable, retrying`, { error }),
    });
    if (opts.signal) cancellation.linkSignal(opts.signal);
    let timedOut = false;
    if (opts.timeout !== undefined) {
      const timeout = opts.timeout;
      cancellation.deadline(timeout, () => {
        timedOut = true;
        // Not getting the lock because the backend did not answer is not contention: say which.
        const outage = waiter.outage;
        return outage
          ? new ClusterError(
              ErrorCodes.BACKEND_UNAVAILABLE,
              `lock "${key}" not acquired within ${timeout} ms: ${outage.message}`,
              {
                cause: outage,
                details: { key, timeout },
              },
            )
          : new LockAcquireError(`lock "${key}" not acquired within ${timeout} ms`, { details: { key, timeout } });
      });
    }
    const fifo = this.capabilities.fifo;
    let leave: (() => void) | undefined;
    const settled = new Settled();
    this.waiting.set(cancellation, settled);
    try {
      // tryAcquire never queues: it asks the backend once, and the backend refuses while others wait.
      if (!opts.once && !fifo) leave = await this.lines.enter(nsKey, cancellation);
      let grant: Grant;
      try {
        grant = opts.once ? await waiter.once() : await waiter.wait();
      } catch (error) {
        await waiter.leave();
        throw error;
      }
      const handle = new LockHandle({
        adapter: this.adapter,
        key,
        namespacedKey: nsKey,
        owner: waiter.owner,
        fencingToken: grant.fencingToken,
        ttl,
        startedAt: grant.startedAt,
        onSettled: (h) => this.held.delete(h),
      });
      this.held.add(handle);
      // A wait limit that passed during the last attempt still got the lock: keep it. A close or an
      // abort means nobody wants it any more.
      if (cancellation.cancelled && !timedOut) {
        handle.lose('the wait was cancelled');
        await handle.release();
        throw cancellation.reason;
      }
      if (diagnostics.lockAcquired.hasSubscribers) {
        diagnostics.lockAcquired.publish({ app: this.context.appName, key, waitMs: performance.now() - calledAt });
      }
      return handle;
    } finally {
      leave?.();
      this.waiting.delete(cancellation);
      settled.settle();
      cancellation.dispose();
    }
  }
}
