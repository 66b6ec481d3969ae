/**
 * Waiting primitives for benchmark runs: deferred promises, a completion counter, waits that give up
 * when the run is aborted (its time limit passed), and a bounded producer pool.
 */

/** A promise with its resolve/reject exposed. */
export interface Deferred<T> {
  readonly promise: Promise<T>;
  resolve(value: T): void;
  reject(error: unknown): void;
}

/** Creates a {@link Deferred}. */
export function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Counts hits and resolves `done` at the `target`-th; `lastAt` is the `performance.now()` of the latest hit. */
export interface Countdown {
  hit(): void;
  readonly done: Promise<void>;
  readonly count: number;
  readonly lastAt: number;
}

/** Creates a {@link Countdown} that completes after `target` hits. */
export function countdown(target: number): Countdown {
  const d = deferred();
  let count = 0;
  let lastAt = 0;
  if (target <= 0) d.resolve();
  return {
    hit() {
      count += 1;
      lastAt = performance.now();
      if (count === target) d.resolve();
    },
    done: d.promise,
    get count() {
      return count;
    },
    get lastAt() {
      return lastAt;
    },
  };
}

/** The error a wait rejects with when its run is aborted. */
export class RunAbortedError extends Error {
  override readonly name = 'RunAbortedError';
}

/**
 * Waits for `promise`, rejecting as soon as `signal` aborts (the run's time limit passed) so the run
 * can tear down instead of hanging. `what` names the wait in the error.
 */
export async function until<T>(promise: Promise<T>, signal: AbortSignal, what: string): Promise<T> {
  if (signal.aborted) throw new RunAbortedError(`aborted before ${what}`);
  let onAbort: (() => void) | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        onAbort = () => reject(new RunAbortedError(`run time limit reached while waiting for ${what}`));
        signal.addEventListener('abort', onAbort, { once: true });
      }),
    ]);
  } finally {
    if (onAbort) signal.removeEventListener('abort', onAbort);
  }
}

/** Resolves after `ms` (used only to shape load — an idle gap — never to synchronize). */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Calls `task(i)` for i = 0..count-1 with at most `window` calls in flight, stopping early when
 * `signal` aborts. Both sides of a comparison use the same pool so they publish the same way.
 */
export async function pool(
  count: number,
  window: number,
  signal: AbortSignal,
  task: (i: number) => Promise<unknown>,
): Promise<void> {
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < count && !signal.aborted) {
      const i = next;
      next += 1;
      await task(i);
    }
  };
  const lanes: Promise<void>[] = [];
  for (let l = 0; l < Math.min(window, count); l += 1) lanes.push(lane());
  await Promise.all(lanes);
  if (signal.aborted) throw new RunAbortedError(`run time limit reached after ${next} of ${count} tasks`);
}

/**
 * Resolves once `lastAt()` (a `performance.now()` timestamp of the latest arrival) is at least
 * `quietMs` in the past: for at-most-once traffic, where waiting for every message could be forever.
 */
export function quiet(lastAt: () => number, quietMs: number): Promise<void> {
  return new Promise((resolve) => {
    const since = performance.now();
    const check = () => {
      const last = Math.max(lastAt(), since);
      const left = last + quietMs - performance.now();
      if (left <= 0) resolve();
      else setTimeout(check, Math.min(left, quietMs) + 1);
    };
    check();
  });
}
