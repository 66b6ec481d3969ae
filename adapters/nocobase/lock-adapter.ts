/**
 * NocoBase's `ILockAdapter` over clusterkit's lock manager: leases on the cluster's lock backend
 * (Redis), so a lock taken on one node blocks every node. NocoBase's own `LockAcquireError` is
 * thrown when a lock is held (`tryAcquire`) or not taken in time. clusterkit's extras ride along
 * without changing NocoBase's shapes: every `Releaser` and `ILock` carries the lease's
 * `fencingToken` (strictly increasing per key) and a `signal` that aborts if the lease is lost.
 */
import { LockAcquireError as NocoBaseLockAcquireError } from '@nocobase/lock-manager';
import { assertFunction, LockAcquireError, type Lock } from 'clusterkit/adapter-kit';
import { keepAlive } from './keep-alive.js';
import type { ILock, ILockAdapter, Releaser } from './nocobase-types.js';
import type { BridgeRuntime } from './runtime.js';

/** clusterkit's extras on NocoBase's lock shapes. */
export interface FencedLease {
  /** Strictly increasing per key across every node; store it with what the lock protects. */
  readonly fencingToken: number;
  /** Aborts when the lease is lost (expired, taken over, node stopping). */
  readonly signal: AbortSignal;
}

/** A NocoBase `Releaser` that also tells its lease. */
export type FencedReleaser = Releaser & FencedLease;

/** A NocoBase `ILock` that also tells its lease (`fencingToken` is 0 before the first acquire when the reservation was lost). */
export type FencedLock = ILock & FencedLease & { extend(ttl: number): Promise<void> };

/** Options NocoBase's lock manager passes to `new ClusterkitLockAdapter(options)` (from `registerAdapter`). */
export interface ClusterkitLockAdapterOptions {
  runtime: BridgeRuntime;
  /** How long a `tryAcquire` reservation holds the lock before `acquire()`/`runExclusive()`/`release()`, in ms. @default 30000 */
  reservationTtl?: number;
}

/** NocoBase's lock adapter on a clusterkit node. Keys are used as NocoBase gives them (shared by every app, as NocoBase's are). */
export class ClusterkitLockAdapter implements ILockAdapter {
  private readonly runtime: BridgeRuntime;
  private readonly reservationTtl: number;

  constructor(options: ClusterkitLockAdapterOptions) {
    this.runtime = options.runtime;
    this.reservationTtl = options.reservationTtl ?? 30_000;
  }

  async connect(): Promise<void> {
    await this.runtime.ensureStarted();
  }

  /** The clusterkit node is stopped with the NocoBase app (NocoBase never closes lock adapters). */
  async close(): Promise<void> {}

  /** Waits for the lock on `key`, holds it for `ttl` ms (or until released), resolves its releaser. */
  async acquire(key: string, ttl: number): Promise<FencedReleaser> {
    return releaserOf(await this.locks().acquire(key, ttl));
  }

  /**
   * Runs `fn` holding the lock on `key`. Unlike NocoBase's in-process adapter, which frees the lock
   * after `ttl` even while `fn` still runs, the lease is kept alive until `fn` settles: `ttl` only
   * bounds how long a crashed node blocks the others.
   */
  async runExclusive<T>(key: string, fn: () => Promise<T>, ttl: number): Promise<T> {
    assertFunction('runExclusive fn', fn);
    return this.locks().runExclusive(key, () => fn(), ttl);
  }

  /**
   * Reserves the lock on `key` — now (`timeout` 0), or waiting at most `timeout` ms — and returns
   * NocoBase's `ILock`. Throws NocoBase's `LockAcquireError` when it is held / not free in time.
   */
  async tryAcquire(key: string, timeout = 0): Promise<FencedLock> {
    let reservation: Lock;
    try {
      reservation =
        timeout === 0
          ? await this.locks().tryAcquire(key, this.reservationTtl)
          : await this.locks().acquire(key, this.reservationTtl, { timeout });
    } catch (error) {
      if (error instanceof LockAcquireError) {
        throw new NocoBaseLockAcquireError(timeout === 0 ? 'lock is locked' : 'lock acquire timed out', {
          cause: error,
        });
      }
      throw error;
    }
    return new ReservedLock(this, key, reservation);
  }

  /** @internal */
  locks() {
    return this.runtime.app.lockManager;
  }

  /** @internal */
  get logger() {
    return this.runtime.logger;
  }
}

function releaserOf(lock: Lock): FencedReleaser {
  const release = async () => {
    await lock.release();
  };
  return Object.assign(release, { fencingToken: lock.fencingToken, signal: lock.signal });
}

/** The `ILock` of `tryAcquire`: holds the reservation until `acquire`, `runExclusive` or `release`. */
class ReservedLock implements FencedLock {
  private lease: Lock | undefined;

  constructor(
    private readonly adapter: ClusterkitLockAdapter,
    private readonly key: string,
    private reservation: Lock | undefined,
  ) {
    this.lease = reservation;
  }

  get fencingToken(): number {
    return this.lease?.fencingToken ?? 0;
  }

  get signal(): AbortSignal {
    return (this.lease ?? this.reservation)?.signal ?? AbortSignal.abort();
  }

  /** Turns the reservation into a lease of `ttl` ms (waiting for the lock again if the reservation was released or lost). */
  async acquire(ttl: number): Promise<FencedReleaser> {
    return releaserOf(await this.take(ttl));
  }

  async extend(ttl: number): Promise<void> {
    if (!this.lease) throw new NocoBaseLockAcquireError('lock is not active');
    await this.lease.extend(ttl);
  }

  async runExclusive<T>(fn: () => Promise<T>, ttl: number): Promise<T> {
    assertFunction('runExclusive fn', fn);
    const lease = await this.take(ttl);
    const stop = keepAlive(lease, ttl, this.adapter.logger);
    try {
      const value = await fn();
      if (lease.signal.aborted) throw lease.signal.reason;
      return value;
    } finally {
      stop();
      await lease.release().catch(() => false);
    }
  }

  async release(): Promise<void> {
    const held = this.reservation ?? this.lease;
    this.reservation = undefined;
    this.lease = undefined;
    await held?.release();
  }

  private async take(ttl: number): Promise<Lock> {
    const reserved = this.reservation;
    this.reservation = undefined;
    if (reserved?.held) {
      try {
        await reserved.extend(ttl);
        this.lease = reserved;
        return reserved;
      } catch {
        // The reservation ran out meanwhile: wait for the lock like NocoBase does.
      }
    }
    this.lease = await this.adapter.locks().acquire(this.key, ttl);
    return this.lease;
  }
}
