/**
 * Helpers for waiting on a lock: a cancellation that merges a wait limit, an AbortSignal and the
 * manager closing; an alarm a waiter sleeps on; and a per-key FIFO line of local waiters, so that
 * with an adapter that keeps no line of its own only one local waiter per key contends with the backend.
 */
import { ClusterError, ErrorCodes } from '../errors.js';

/** A one-shot cancellation: `promise` rejects with the first reason given to `cancel()`. */
export class Cancellation {
  private promiseValue: Promise<never> | undefined;
  private rejectFn: ((reason: unknown) => void) | undefined;
  private reasonValue: unknown;
  private done = false;
  private cleanups: (() => void)[] | undefined;

  /**
   * Rejects with the reason once cancelled. Made on first use: an uncontended acquire never races
   * anything against its cancellation, so it pays for no promise.
   */
  get promise(): Promise<never> {
    if (!this.promiseValue) {
      this.promiseValue = this.done
        ? Promise.reject(this.reasonValue)
        : new Promise<never>((_, reject) => {
            this.rejectFn = reject;
          });
      // Nobody may be racing the promise when it rejects; that is not an unhandled failure.
      this.promiseValue.catch(() => {});
    }
    return this.promiseValue;
  }

  /** True once cancelled. */
  get cancelled(): boolean {
    return this.done;
  }

  /** The reason given to the first `cancel()`. */
  get reason(): unknown {
    return this.reasonValue;
  }

  cancel(reason: unknown): void {
    if (this.done) return;
    this.done = true;
    this.reasonValue = reason;
    this.rejectFn?.(reason);
    this.dispose();
  }

  /** Cancels when `signal` aborts, with the signal's reason. */
  linkSignal(signal: AbortSignal): void {
    if (signal.aborted) return this.cancel(signal.reason);
    const onAbort = () => this.cancel(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    (this.cleanups ??= []).push(() => signal.removeEventListener('abort', onAbort));
  }

  /** Cancels with `makeReason()` after `ms`. */
  deadline(ms: number, makeReason: () => unknown): void {
    const timer = setTimeout(() => this.cancel(makeReason()), ms);
    (this.cleanups ??= []).push(() => clearTimeout(timer));
  }

  /** Drops timers and listeners; call when the wait is over either way. */
  dispose(): void {
    const cleanups = this.cleanups;
    this.cleanups = undefined;
    if (cleanups) for (const cleanup of cleanups) cleanup();
  }
}

/**
 * A waiter's timer: `sleep(ms)` ends after `ms`, or earlier when `ring()` is called, when an earlier
 * end was set with `shorten()`, or when the cancellation fires (then it rejects). A ring that comes
 * while the waiter is not sleeping is remembered (`rung`) until `reset()`.
 */
export class Alarm {
  /** True when rung since the last `reset()`. */
  rung = false;
  /** An end no later sleep may pass (set by `shorten`), in `Date.now()` ms. */
  private latest = Number.POSITIVE_INFINITY;
  private wake: (() => void) | undefined;
  private timer: NodeJS.Timeout | undefined;
  private end = 0;

  reset(): void {
    this.rung = false;
  }

  ring(): void {
    this.rung = true;
    this.wake?.();
  }

  /** Makes the current or next sleep end no later than `ms` from now. */
  shorten(ms: number): void {
    const at = Date.now() + ms;
    if (at >= this.latest) return;
    this.latest = at;
    if (this.wake && at < this.end) this.arm(at);
  }

  async sleep(ms: number, cancellation: Cancellation): Promise<void> {
    if (this.rung) return;
    const woke = new Promise<void>((resolve) => {
      this.wake = resolve;
    });
    this.arm(Math.min(Date.now() + ms, this.latest));
    try {
      await Promise.race([woke, cancellation.promise]);
    } finally {
      clearTimeout(this.timer);
      this.timer = undefined;
      this.wake = undefined;
      if (Date.now() >= this.latest) this.latest = Number.POSITIVE_INFINITY;
    }
  }

  private arm(at: number): void {
    clearTimeout(this.timer);
    this.end = at;
    this.timer = setTimeout(() => this.wake?.(), Math.max(0, at - Date.now()));
  }
}

/**
 * Per-key FIFO lines of local waiters. `enter` resolves when every earlier waiter on the key has
 * left; the returned `leave` must be called exactly once, whatever happened.
 */
export class WaitLines {
  private readonly tails = new Map<string, Promise<void>>();

  async enter(key: string, cancellation: Cancellation): Promise<() => void> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    let leave!: () => void;
    const mine = new Promise<void>((resolve) => {
      leave = resolve;
    });
    const tail = previous.then(() => mine);
    this.tails.set(key, tail);
    const leaveOnce = () => {
      leave();
      if (this.tails.get(key) === tail) this.tails.delete(key);
    };
    try {
      await Promise.race([previous, cancellation.promise]);
    } catch (error) {
      // Leaving early still keeps order: the next waiter waits for `previous`, then for us (already done).
      leaveOnce();
      throw error;
    }
    return leaveOnce;
  }
}

/** The error pending waiters get when the manager closes. */
export function closedError(): ClusterError {
  return new ClusterError(ErrorCodes.NOT_CONNECTED, 'lock manager closed while waiting for a lock');
}

/** Resolves when every promise settled, or after `ms`, whichever comes first. */
export async function settleWithin(promises: Promise<unknown>[], ms: number): Promise<void> {
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
/** "This wait has cleaned up", as a promise made only when `close()` asks for one. */
export class Settled {
  private done = false;
  private resolve: (() => void) | undefined;
  private made: Promise<void> | undefined;

  /** Marks the wait cleaned up. */
  settle(): void {
    this.done = true;
    this.resolve?.();
  }

  /** Resolves once `settle()` was called. */
  promise(): Promise<void> {
    this.made ??= this.done
      ? Promise.resolve()
      : new Promise<void>((resolve) => {
          this.resolve = resolve;
        });
    return this.made;
  }
}
