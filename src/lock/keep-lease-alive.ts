/**
 * Lease keeping for `runExclusive`: extends a held lock every ttl/3 while the caller's work runs,
 * so the ttl only bounds how long a crashed holder blocks others.
 */
import type { Logger } from '../context.js';
import { isClusterError, ErrorCodes } from '../errors.js';
import type { Lock } from './lock-handle.js';

/**
 * Extends `lock` by `ttl` every ttl/3 until the returned stop function is called or the lease is
 * lost. A refused extend aborts the lock's signal (the handle does that) and ends the keeping; a
 * failed call (backend hiccup) is logged and retried at the next tick, and if none succeeds for a
 * whole ttl the handle's local expiry timer declares the lease lost.
 * Extends are chained, never overlapping: the next is scheduled when the previous settles.
 */
export function keepLeaseAlive(lock: Lock, ttl: number, logger: Logger): () => void {
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const schedule = () => {
    if (stopped || !lock.held) return;
    timer = setTimeout(tick, Math.max(1, Math.floor(ttl / 3)));
  };
  const tick = () => {
    lock.extend(ttl).then(schedule, (error: unknown) => {
      if (isClusterError(error) && error.code === ErrorCodes.LOCK_NOT_OWNER) return;
      logger.warn(`could not extend lock "${lock.key}"`, { error });
      schedule();
    });
  };
  schedule();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
