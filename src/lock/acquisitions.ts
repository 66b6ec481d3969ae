/**
 * How callers of one lock manager get their locks: the uncontended first attempt (`quick`: no
 * waiter, cancellation or timer is made for it), the wait that follows a failed one or that has a
 * limit or a signal (`take`, with lock-waiter.ts), the held handles with their one expiry timer,
 * and what `close()` does to all of them.
 */
import { randomBytes } from 'node:crypto';
import type { ManagerContext } from '../context.js';
import { diagnostics } from '../diagnostics.js';
import { ClusterError, ErrorCodes, LockAcquireError } from '../errors.js';
import { LeaseExpiry } from './lease-expiry.js';
import { LockHandle, type Lock } from './lock-handle.js';
import { LockWaiter, type Grant } from './lock-waiter.js';
import type { LockAdapter, TryAcquireResult } from './types.js';
import { Cancellation, closedError, Settled, settleWithin, WaitLines } from './wait-lines.js';

/** How long `close()` lets cancelled waiters leave the backend's line, in ms. */
const CLOSE_WAIT_MS = 1_000;

/** What {@link Acquisitions} needs of its manager. */
export interface AcquisitionHost {
  /** The manager's adapter (it may be replaced before connect). */
  adapter(): LockAdapter;
  readonly context: ManagerContext;
  /** False once `close()` began. */
  isOpen(): boolean;
}

/** The waits, first attempts and held locks of one lock manager. */
export class Acquisitions {
  private readonly lines = new WaitLines();
  /** Pending waits; `cancelAll()` cancels them and waits until each has cleaned up (left the line). */
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
  /** First attempts in flight (see `quick()`); `cancelAll()` waits for them as for waits. */
  private attempts = 0;
  private attemptsDone: (() => void) | undefined;

  constructor(private readonly host: AcquisitionHost) {}

  /**
   * For `close()`: rejects pending waiters with `NOT_CONNECTED` and gives them and first attempts in
   * flight a bounded moment to clean up, then marks held locks lost (their signals abort) and
   * releases them (best effort; a lease that cannot be released expires).
   */
  async cancelAll(): Promise<void> {
    const waits = [...this.waiting];
    for (const [waiter] of waits) waiter.cancel(closedError());
    // Cancelled waiters leave the backend's line; give them a bounded moment to do it before the
    // adapter closes (a place that is not removed lapses on its own after its ttl).
    const pending = waits.map(([, settled]) => settled.promise());
    if (this.attempts > 0) pending.push(new Promise<void>((resolve) => (this.attemptsDone = resolve)));
    await settleWithin(pending, CLOSE_WAIT_MS);
    const handles = this.leases.held();
    for (const handle of handles) handle.lose('the lock manager closed');
    this.leases.dispose();
    await Promise.allSettled(handles.map((handle) => handle.release()));
  }

  private nextOwner(): string {
    return `${this.host.context.nodeId}:${this.ownerBase}:${(this.ownerSeq += 1)}`;
  }

  /**
   * The uncontended path of a plain `acquire` (fifo adapter: no wait limit, no signal) and of a
   * single try: one attempt, with no waiter, cancellation or timers made for it. Only when it fails
   * does the caller become a waiter (`take`), with the same owner and — on a fifo adapter — the
   * place in line this attempt already took, so a failed first attempt costs no extra round trip.
   */
  async quick(key: string, nsKey: string, ttl: number, once: boolean): Promise<Lock> {
    const adapter = this.host.adapter();
    const owner = this.nextOwner();
    const calledAt = diagnostics.lockAcquired.hasSubscribers ? performance.now() : undefined;
    const sentAt = Date.now();
    this.attempts += 1;
    let result: TryAcquireResult | undefined;
    let failure: unknown;
    try {
      result = await adapter.tryAcquire(nsKey, owner, ttl, once ? undefined : { queueMs: ttl });
    } catch (error) {
      if (once) {
        this.attemptDone();
        throw error;
      }
      failure = error;
    }
    try {
      // close() began during the attempt: nobody wants the lock any more (as a cancelled wait); a
      // refused single try stays a LOCK_ACQUIRE_FAILED, as it was before this path existed.
      if (!this.host.isOpen() && (result?.acquired || !once)) {
        if (result?.acquired) {
          const handle = this.handleOf(key, nsKey, owner, ttl, result, sentAt);
          handle.lose('the wait was cancelled');
          await handle.release();
        } else if (!once) await adapter.leave?.(nsKey, owner).catch(() => {});
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
    first.catch(() => {}); // awaited by the waiter; never an unhandled rejection meanwhile
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
      adapter: this.host.adapter(),
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
      diagnostics.lockAcquired.publish({ app: this.host.context.appName, key, waitMs: performance.now() - calledAt });
    }
    return handle;
  }

  /**
   * Gets the lock for a new owner. With a `fifo` adapter every waiter stands in the backend's line
   * (first come, first served across nodes); otherwise only the first local waiter per key talks to
   * the backend and the others wait their turn on this node.
   */
  async take(
    key: string,
    nsKey: string,
    ttl: number,
    opts: { timeout?: number; signal?: AbortSignal; once: boolean },
    after?: { owner: string; first: Promise<TryAcquireResult>; calledAt: number | undefined },
  ): Promise<Lock> {
    const calledAt = after ? after.calledAt : performance.now();
    const cancellation = new Cancellation();
    const waiter = new LockWaiter({
      adapter: this.host.adapter(),
      key: nsKey,
      name: key,
      owner: after?.owner ?? this.nextOwner(),
      ttl,
      cancellation,
      onOutage: (error) => this.host.context.logger.warn(`lock "${key}": backend unavailable, retrying`, { error }),
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
    const fifo = this.host.adapter().capabilities?.fifo === true;
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
        adapter: this.host.adapter(),
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
