/**
 * The lock contract. The manager owns waiting, lease keeping, fencing-token exposure and the
 * lost-lease signal; an adapter only performs atomic lease operations, keeps the line of waiters
 * (capability `fifo`) and sends release notifications. See docs/adapters.md.
 */

/** What a lock adapter can do; the conformance suite skips by capability, never by adapter name. */
export interface LockCapabilities {
  /**
   * Waiters are served first come, first served across nodes: the backend keeps one line per key,
   * an attempt with `queue` joins it, only its head (or anyone, when it is empty) may take a free
   * lease, a release hands the lease straight to the head and announces it with a `granted` event,
   * and a place lapses when its owner stops renewing it. False: whoever tries first after a release
   * wins (barging), as in Redlock quorum mode.
   */
  readonly fifo: boolean;
}

/** Options of one {@link LockAdapter.tryAcquire} attempt. */
export interface TryAcquireOptions {
  /**
   * Only with `capabilities.fifo`. When the attempt fails, join the key's line (or keep the place
   * already held) for `queueMs` from now; a place that is not renewed by a later attempt within that
   * time lapses, so a crashed waiter drops out. Absent or 0: never join, and refuse the lease while
   * others wait in line (a plain `tryAcquire` must not jump the line).
   */
  readonly queueMs?: number;
}

/** Result of one atomic acquire attempt. */
export type TryAcquireResult =
  | {
      readonly acquired: true;
      /** Strictly increasing per key, across all owners, and across the loss of the backend's counter. */
      readonly fencingToken: number;
      /**
       * Remaining lease in ms when it is shorter than the ttl asked for: the lease was handed to this
       * owner earlier (by a release, while it waited) and this attempt only found out. Absent: a full ttl.
       */
      readonly remainingMs?: number;
    }
  | {
      readonly acquired: false;
      /** When another attempt may succeed, in ms: the holder's remaining lease, or the lapse of the head's place. */
      readonly retryAfterMs: number;
    };

/**
 * A notification on a key: the lease was freed (`released`: nobody waited, or the adapter is not
 * `fifo`), or handed to the head of the line (`granted`).
 */
export type LockEvent =
  | { readonly type: 'released' }
  | {
      readonly type: 'granted';
      /** The new holder. */
      readonly owner: string;
      readonly fencingToken: number;
      /** The handed lease's length in ms (the ttl its owner asked for). */
      readonly ttlMs: number;
      /**
       * `Date.now()`-clock time no later than the moment the lease was granted (a lower bound,
       * converted from the backend's clock by the adapter), so the holder's local expiry timer never
       * outlives the backend's lease.
       */
      readonly grantedAt: number;
    };

/** The byte-moving half of the lock manager. One instance per node. */
export interface LockAdapter {
  /** @default `{ fifo: false }` when absent */
  readonly capabilities?: LockCapabilities;
  connect(): Promise<void>;
  close(): Promise<void>;
  /**
   * Takes the lease on `key` for `owner` for `ttlMs` if nobody holds it (and, with `fifo`, nobody is
   * ahead of `owner` in line). Resolves `acquired: true` also when the lease was already handed to
   * `owner`. Atomic. Rejects with `BACKEND_UNAVAILABLE` when the backend cannot decide (down, no quorum).
   */
  tryAcquire(key: string, owner: string, ttlMs: number, options?: TryAcquireOptions): Promise<TryAcquireResult>;
  /**
   * Frees the lease if `owner` still holds it — with `fifo`, hands it to the head of the line — and
   * notifies. With `fifo` the notification is for the line: a release while nobody stands in it may
   * send none (waiters join the line before they listen). Returns false when not the owner.
   * `fencingToken`, when given, is the token `owner` got with the lease; an adapter may use it to
   * check ownership more cheaply, never instead of the owner check.
   */
  release(key: string, owner: string, fencingToken?: number): Promise<boolean>;
  /** Sets the lease to `ttlMs` from now if `owner` still holds it. Returns false when not the owner. */
  extend(key: string, owner: string, ttlMs: number): Promise<boolean>;
  /**
   * Only with `fifo`: `owner` stops waiting. Removes its place in line and, if the lease was handed
   * to it meanwhile, passes the lease on as a release would. Atomic.
   */
  leave?(key: string, owner: string): Promise<void>;
  /**
   * Calls `listener` for every notification on `key` (by any node). Waiters subscribe before they
   * wait, and retry once after subscribing, so nothing between a failed attempt and the wait is
   * missed. Returns the unsubscribe function.
   */
  onRelease(key: string, listener: (event: LockEvent) => void): Promise<() => Promise<void>>;
}
