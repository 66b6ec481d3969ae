/**
 * The lock contract. The manager owns waiting, lease keeping, fencing-token exposure and the
 * lost-lease signal; an adapter only performs atomic lease operations and release notifications.
 */

/** Result of one atomic acquire attempt. */
export type TryAcquireResult =
  | { readonly acquired: true; /** Strictly increasing per key, across all owners and restarts of the backend's data. */ readonly fencingToken: number }
  | { readonly acquired: false; /** Remaining lease of the current holder in ms (an upper bound on the wait). */ readonly retryAfterMs: number };

/** The byte-moving half of the lock manager. One instance per node. */
export interface LockAdapter {
  connect(): Promise<void>;
  close(): Promise<void>;
  /** Takes the lease on `key` for `owner` for `ttlMs` if nobody holds it. Atomic. */
  tryAcquire(key: string, owner: string, ttlMs: number): Promise<TryAcquireResult>;
  /** Frees the lease if `owner` still holds it, and notifies waiters. Returns false when not the owner. */
  release(key: string, owner: string): Promise<boolean>;
  /** Sets the lease to `ttlMs` from now if `owner` still holds it. Returns false when not the owner. */
  extend(key: string, owner: string, ttlMs: number): Promise<boolean>;
  /**
   * Calls `onRelease` whenever the lease on `key` is released (by any node). Waiters subscribe
   * before trying, so a release between a failed try and the wait is never missed.
   * Returns the unsubscribe function.
   */
  onRelease(key: string, onRelease: () => void): Promise<() => Promise<void>>;
}
