/**
 * The handle of one held lock: its fencing token, the lost-lease signal, release and extend.
 * It keeps a local lease end, watched by the manager's {@link LeaseExpiry}, so the signal fires when
 * the lease runs out even if the backend never says so (a partitioned node learns nothing from it).
 */
import { ClusterError, ErrorCodes } from '../errors.js';
import { assertDuration } from '../validation.js';
import type { ExpiringLease, LeaseExpiry } from './lease-expiry.js';
import type { LockAdapter } from './types.js';

/** A held lock, as returned by `lockManager.acquire()` / `tryAcquire()` and passed to `runExclusive`'s fn. */
export interface Lock {
  /** The key as the caller gave it (without the app namespace). */
  readonly key: string;
  /**
   * Strictly increasing per key across every node and every acquisition. Store it with the data the
   * lock protects and refuse writes whose token is not greater than the one stored (`fence < token`,
   * see docs/lock.md). Never goes back, even when the backend loses its counter (it is re-seeded from
   * the backend's clock in µs), so tokens are large numbers, exact in a `number`.
   */
  readonly fencingToken: number;
  /** Aborts with a `LOCK_LOST` {@link ClusterError} when the lease is lost (expired, extend refused, manager closed). */
  readonly signal: AbortSignal;
  /** Lease length in ms used by the last acquire/extend. */
  readonly ttl: number;
  /** True while this handle believes it owns the lease (not released, not lost). */
  readonly held: boolean;
  /**
   * Releases the lease. Resolves `true` when this call freed it; `false` when the handle was already
   * released or its lease was lost (then nothing happens to whoever holds the lock now). Safe to call twice.
   * Bound to the handle, so `const { release } = await lockManager.acquire(key)` works (NocoBase style).
   */
  readonly release: () => Promise<boolean>;
  /**
   * Sets the lease to `ttl` ms from now. Rejects with `LOCK_NOT_OWNER` when this handle no longer
   * owns the lease (released, expired, taken over); the signal then aborts if it had not already.
   * @param ttl lease length in ms. @default the handle's current ttl
   */
  extend(ttl?: number): Promise<void>;
}

/** What a handle needs from its manager. */
export interface LockHandleInit {
  readonly adapter: LockAdapter;
  readonly key: string;
  readonly namespacedKey: string;
  readonly owner: string;
  readonly fencingToken: number;
  readonly ttl: number;
  /** `Date.now()` taken just before the acquire call: the lease can only end later than start + ttl. */
  readonly startedAt: number;
  /** The manager's held leases: the handle joins at once and leaves when released or lost. */
  readonly leases: LeaseExpiry<LockHandle>;
}

/** The {@link Lock} implementation. Created by the lock manager only. */
export class LockHandle implements Lock, ExpiringLease {
  readonly key: string;
  readonly fencingToken: number;
  /** `Date.now()` ms at which the local lease ends; the manager's {@link LeaseExpiry} watches it. */
  expiresAt: number;
  /** Kept by the manager's {@link LeaseExpiry}. */
  leaseSlot = -1;
  private state: 'held' | 'released' | 'lost' = 'held';
  private currentTtl: number;
  /** Made on first use of `signal` (most callers never read it); `lost` keeps the abort reason meanwhile. */
  private controller: AbortController | undefined;
  private lostReason: ClusterError | undefined;

  constructor(private readonly init: LockHandleInit) {
    this.key = init.key;
    this.fencingToken = init.fencingToken;
    this.currentTtl = init.ttl;
    this.expiresAt = init.startedAt + init.ttl;
    init.leases.add(this);
  }

  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.lostReason) this.controller.abort(this.lostReason);
    }
    return this.controller.signal;
  }

  get ttl(): number {
    return this.currentTtl;
  }

  get held(): boolean {
    return this.state === 'held';
  }

  readonly release = async (): Promise<boolean> => {
    if (this.state === 'released') return false;
    if (this.state === 'lost') {
      // The owner check in the adapter makes this harmless to a new holder; it only frees our own
      // stale lease early when the local timer was more pessimistic than the backend.
      await this.init.adapter.release(this.init.namespacedKey, this.init.owner, this.fencingToken).catch(() => false);
      return false;
    }
    const released = await this.init.adapter.release(this.init.namespacedKey, this.init.owner, this.fencingToken);
    if (this.state !== 'held') return false;
    if (!released) {
      this.lose('the lease had already expired or been taken over when it was released');
      return false;
    }
    this.settle('released');
    return true;
  };

  async extend(ttl?: number): Promise<void> {
    const ms = ttl === undefined ? this.currentTtl : assertDuration('ttl', ttl);
    if (this.state !== 'held') throw this.notOwner();
    const startedAt = Date.now();
    const extended = await this.init.adapter.extend(this.init.namespacedKey, this.init.owner, ms);
    if (this.state !== 'held') {
      // Lost (local timer) or released while the call was in flight: hand back what we may have renewed.
      if (extended && this.state === 'lost') {
        await this.init.adapter.release(this.init.namespacedKey, this.init.owner, this.fencingToken).catch(() => false);
      }
      throw this.notOwner();
    }
    if (!extended) {
      this.lose('extend was refused: the lease had expired or been taken over');
      throw this.notOwner();
    }
    this.currentTtl = ms;
    this.expiresAt = startedAt + ms;
    this.init.leases.moved(this);
  }

  /** Marks the lease lost and aborts the signal. Used by the manager on close. */
  lose(reason: string): void {
    if (this.state !== 'held') return;
    this.settle('lost');
    this.lostReason = new ClusterError(ErrorCodes.LOCK_LOST, `lock "${this.key}" lost: ${reason}`, {
      details: { key: this.key, fencingToken: this.fencingToken },
    });
    this.controller?.abort(this.lostReason);
  }

  /** The local lease ran out (called by the manager's {@link LeaseExpiry}). */
  expire(): void {
    this.lose(`its ${this.currentTtl} ms lease ran out without an extend`);
  }

  private settle(state: 'released' | 'lost'): void {
    this.state = state;
    this.init.leases.delete(this);
  }

  private notOwner(): ClusterError {
    return new ClusterError(
      ErrorCodes.LOCK_NOT_OWNER,
      `lock "${this.key}" is no longer owned by this handle (${this.state})`,
      { details: { key: this.key, fencingToken: this.fencingToken, state: this.state } },
    );
  }
}
