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
import { LeaseExpiry } from './lease-expiry.js';
import { LockHandle, type Lock } from './lock-handle.js';
import { MemoryLockAdapter } from './memory-adapter.js';
import { LockWaiter, type Grant } from './lock-waiter.js';
import type { LockAdapter, LockCapabilities, TryAcquireResult } from './types.js';
import { Cancellation, closedError, Settled, settleWithin, WaitLines } from './wait-lines.js';

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
  /** Held locks and the one timer that marks them lost when their local lease runs out. */
  private readonly leases = new LeaseExpiry<LockHandle>();
  /** Validated keys and their namespaced names (see {@link KEY_CACHE_SIZE}). */
  private readonly keys = new Map<string, string>();
  /** First attempts in flight (see `quick()`); `close()` waits for them as for waits. */
  private attempts = 0;
  private attemptsDone: (() => void) | undefined;

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
    const pending = waits.map(([, settled]) => settled.promise());
    if (this.attempts > 0) pending.push(new Promise<void>((resolve) => (this.attemptsDone = resolve)));
    await settleWithin(pending, CLOSE_WAIT_MS);
    const handles = [...this.leases.held];
    for (const handle of handles) handle.lose('the lock manager closed');
    this.leases.dispose();
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
      return await this.quick(key, nsKey, ms, timeout === 0);
    }
    return this.take(key, nsKey, ms, { timeout, signal: opts.signal, once: timeout === 0 });
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
    return await this.quick(key, nsKey, ms, true);
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

  private nextOwner(): string {
    return `${this.context.nodeId}:${this.ownerBase}:${(this.ownerSeq += 1)}`;
  }

  /**
   * The uncontended path of a plain `acquire` (fifo adapter: no wait limit, no signal) and of a
   * single try: one attempt, with no waiter, cancellation or timers made for it. Only when it fails
   * does the caller become a waiter (`take`), with the same owner and — on a fifo adapter — the
   * place in line this attempt already took, so a failed first attempt costs no extra round trip.
   */
  private async quick(key: string, nsKey: string, ttl: number, once: boolean): Promise<Lock> {
    const owner = this.nextOwner();
    const calledAt = diagnostics.lockAcquired.hasSubscribers ? performance.now() : undefined;
    const sentAt = Date.now();
    this.attempts += 1;
    let result: TryAcquireResult | undefined;
    let failure: unknown;
    try {
      result = await this.adapter.tryAcquire(nsKey, owner, ttl, once ? undefined : { queueMs: ttl });
    } catch (error) {
      if (once) {
        this.attemptDone();
        throw error;
      }
      failure = error;
    }
    try {
      if (!this.lifecycle.isConnected()) {
        // close() began during the attempt: nobody wants the lock any more (as a cancelled wait).
        if (result?.acquired) {
          const handle = this.handleOf(key, nsKey, owner, ttl, result, sentAt);
          handle.lose('the wait was cancelled');
          await handle.release();
        } else if (!once) await this.adapter.leave?.(nsKey, owner).catch(() => {});
        throw closedError();
      }
    } finally {
      this.attemptDone();
    }
    if (result?.acquired) return this.acquired(key, this.handleOf(key, nsKey, owner, ttl, result, sentAt), calledAt);
    if (once) {
      throw new LockAcquireError(`lock "${key}" is held by someone else`, {
        details: { key, retryAfterMs: result!.retryAfterMs },
      });
    }
    // Held (this owner is now in line), or the backend did not answer (the waiter retries, and
    // reports an outage as a wait does).
    const first = result ? Promise.resolve(result) : Promise.reject(failure);
    return this.take(key, nsKey, ttl, { once: false }, { owner, first, calledAt });
  }

  private attemptDone(): void {
    this.attempts -= 1;
    if (this.attempts === 0 && this.attemptsDone) {
      this.attemptsDone();
      this.attemptsDone = undefined;
    }
  }

  private handleOf(
    key: string,
    nsKey: string,
    owner: string,
    ttl: number,
    result: TryAcquireResult & { acquired: true },
    sentAt: number,
  ): LockHandle {
    // A lease handed over earlier began before this attempt: count back from what remains of it.
    const startedAt = result.remainingMs === undefined ? sentAt : sentAt + result.remainingMs - ttl;
    return new LockHandle({
      adapter: this.adapter,
      key,
      namespacedKey: nsKey,
      owner,
      fencingToken: result.fencingToken,
      ttl,
      startedAt,
      leases: this.leases,
    });
  }

  /** Publishes the `lockAcquired` diagnostics event (`calledAt`: `performance.now()` at the call, if taken). */
  private acquired(key: string, handle: LockHandle, calledAt: number | undefined): LockHandle {
    if (diagnostics.lockAcquired.hasSubscribers && calledAt !== undefined) {
      diagnostics.lockAcquired.publish({ app: this.context.appName, key, waitMs: performance.now() - calledAt });
    }
    return handle;
  }

  /**
   * Gets the lock for a new owner. With a `fifo` adapter every waiter stands in the backend's line
   * (first come, first served across nodes); otherwise only the first local waiter per key talks to
   * the backend and the others wait their turn on this node.
   */
  private async take(
    key: string,
    nsKey: string,
    ttl: number,
    opts: { timeout?: number; signal?: AbortSignal; once: boolean },
    after?: { owner: string; first: Promise<TryAcquireResult>; calledAt: number | undefined },
  ): Promise<Lock> {
    const calledAt = after ? after.calledAt : performance.now();
    const cancellation = new Cancellation();
    const waiter = new LockWaiter({
      adapter: this.adapter,
      key: nsKey,
      name: key,
      owner: after?.owner ?? this.nextOwner(),
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
        grant = opts.once ? await waiter.once() : await waiter.wait(after?.first);
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
        leases: this.leases,
      });
      // A wait limit that passed during the last attempt still got the lock: keep it. A close or an
      // abort means nobody wants it any more.
      if (cancellation.cancelled && !timedOut) {
        handle.lose('the wait was cancelled');
        await handle.release();
        throw cancellation.reason;
      }
      return this.acquired(key, handle, calledAt);
    } finally {
      leave?.();
      this.waiting.delete(cancellation);
      settled.settle();
      cancellation.dispose();
    }
  }
}
