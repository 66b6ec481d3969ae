/**
 * One caller's way to a lock: attempts against the adapter, its place in the key's line (renewed
 * while it waits), release/hand-off notifications, and backoff while the backend is unreachable.
 * The manager turns the resulting grant into a lock handle.
 */
import { ClusterError, isClusterError, ErrorCodes, LockAcquireError } from '../errors.js';
import type { LockAdapter, LockEvent, TryAcquireResult } from './types.js';
import { Alarm, type Cancellation } from './wait-lines.js';

/** First retry delay in ms while the backend does not answer; it doubles up to {@link OUTAGE_MAX_MS}. */
export const OUTAGE_MIN_MS = 50;
/** Longest retry delay in ms while the backend does not answer. */
export const OUTAGE_MAX_MS = 2_000;

/** The lock is `owner`'s: its token, and a local time no later than the backend's lease began. */
export interface Grant {
  readonly fencingToken: number;
  readonly startedAt: number;
}

/** What a waiter needs. */
export interface WaiterInit {
  readonly adapter: LockAdapter;
  /** The key as the adapter sees it (namespaced). */
  readonly key: string;
  /** The key as the caller gave it, for messages. */
  readonly name: string;
  readonly owner: string;
  readonly ttl: number;
  readonly cancellation: Cancellation;
  /** Called once when a wait meets an unreachable backend (the waiter keeps retrying). */
  readonly onOutage?: (error: ClusterError) => void;
}

function isOutage(error: unknown): error is ClusterError {
  return isClusterError(error) && error.code === ErrorCodes.BACKEND_UNAVAILABLE;
}

/** Waits for one lock for one owner. Use once. */
export class LockWaiter {
  /** The last `BACKEND_UNAVAILABLE` met, while the backend has not answered since. */
  outage: ClusterError | undefined;
  /** True once an attempt may have put this owner in line. */
  private queued = false;
  private granted: Grant | undefined;
  private readonly alarm = new Alarm();
  private readonly fifo: boolean;

  constructor(private readonly init: WaiterInit) {
    this.fifo = init.adapter.capabilities?.fifo === true;
  }

  /** The owner token this waiter asks the backend for. */
  get owner(): string {
    return this.init.owner;
  }

  /** One attempt, never waiting; rejects with {@link LockAcquireError} when the lock is held or others wait. */
  async once(): Promise<Grant> {
    const sentAt = Date.now();
    const result = await this.init.adapter.tryAcquire(this.init.key, this.init.owner, this.init.ttl);
    if (result.acquired) return this.grantOf(result, sentAt);
    throw new LockAcquireError(`lock "${this.init.name}" is held by someone else`, {
      details: { key: this.init.name, retryAfterMs: result.retryAfterMs },
    });
  }

  /**
   * Waits until the lock is granted or the cancellation fires. With a `fifo` adapter every attempt
   * joins (or renews) this owner's place in line, and a release hands the lock over by notification.
   * @param first the outcome of an attempt already made for this owner (the manager's uncontended
   *   try): it counts as the first attempt, so a failed one is followed by the subscription at once.
   */
  async wait(first?: Promise<TryAcquireResult>): Promise<Grant> {
    const { adapter, key, owner, ttl, cancellation } = this.init;
    // A place in line is a lease too: renewed every ttl/3, it lapses ttl after a crash.
    const options = this.fifo ? { queueMs: ttl } : undefined;
    const renewEvery = this.fifo ? Math.max(1, Math.floor(ttl / 3)) : Number.POSITIVE_INFINITY;
    let unsubscribe: (() => Promise<void>) | undefined;
    let backoff = 0;
    let earlier = first;
    try {
      for (;;) {
        if (this.granted) return this.granted;
        if (cancellation.cancelled) throw cancellation.reason;
        this.alarm.reset();
        const sentAt = Date.now();
        let result: TryAcquireResult;
        try {
          this.queued ||= this.fifo;
          const attempt = earlier ?? adapter.tryAcquire(key, owner, ttl, options);
          earlier = undefined;
          result = await attempt;
          // Uncontended locks are the common case: one round trip, no subscription. Only a failed
          // attempt subscribes, then tries again before waiting, so a release or hand-off between
          // the failed attempt and the subscription is never missed.
          if (!result.acquired && !unsubscribe) {
            unsubscribe = await adapter.onRelease(key, (event) => this.hear(event));
            backoff = 0;
            this.outage = undefined;
            continue;
          }
          backoff = 0;
          this.outage = undefined;
        } catch (error) {
          if (!isOutage(error)) throw error;
          if (!this.outage) this.init.onOutage?.(error);
          this.outage = error;
          // Never a busy loop against a backend that is down: 50 ms, doubling to 2 s, with jitter.
          backoff = backoff === 0 ? OUTAGE_MIN_MS : Math.min(OUTAGE_MAX_MS, backoff * 2);
          await this.alarm.sleep(backoff + Math.floor(Math.random() * (backoff / 5)), cancellation);
          continue;
        }
        if (result.acquired) return this.grantOf(result, sentAt);
        if (this.granted || this.alarm.rung) continue;
        // The holder's remaining lease (or the lapse of a crashed head's place) bounds the wait: a
        // crashed holder sends no notification. Jitter keeps non-fifo nodes from retrying in step.
        const jitter = this.fifo ? 0 : Math.floor(Math.random() * Math.min(50, result.retryAfterMs / 10 + 1));
        await this.alarm.sleep(Math.min(Math.max(1, result.retryAfterMs) + jitter, renewEvery), cancellation);
      }
    } finally {
      this.alarm.reset();
      // Not awaited: the caller need not wait for Redis to confirm an UNSUBSCRIBE.
      unsubscribe?.().catch(() => {});
    }
  }

  /**
   * Gives up a wait that did not end in a grant: leaves the line, and passes on a lease that was
   * handed over meanwhile. Best effort — if it fails, the place lapses on its own after ttl.
   */
  async leave(): Promise<void> {
    if (!this.queued || !this.init.adapter.leave) return;
    this.queued = false;
    await this.init.adapter.leave(this.init.key, this.init.owner).catch(() => {});
  }

  private hear(event: LockEvent): void {
    if (event.type === 'granted') {
      if (event.owner === this.init.owner) {
        this.granted = { fencingToken: event.fencingToken, startedAt: event.grantedAt };
        this.alarm.ring();
      } else {
        // Someone else got a fresh lease: if that holder crashes nobody announces it, so look again
        // when its lease would run out, even if the last attempt saw a longer one.
        this.alarm.shorten(event.ttlMs + 1);
      }
      return;
    }
    this.alarm.ring();
  }

  private grantOf(result: TryAcquireResult & { acquired: true }, sentAt: number): Grant {
    this.queued = false;
    // A lease handed over earlier began before this attempt: count back from what remains of it.
    const startedAt = result.remainingMs === undefined ? sentAt : sentAt + result.remainingMs - this.init.ttl;
    return { fencingToken: result.fencingToken, startedAt };
  }
}
