/**
 * Keeps a clusterkit lease alive while work runs: extends it every ttl/3 until stopped or lost.
 * (The lock manager does this inside its own `runExclusive`; the bridge needs it for NocoBase's
 * `ILock.runExclusive` and for worker-id leases.)
 */
import type { Lock, Logger } from 'clusterkit/adapter-kit';

/** Extends `lock` by `ttl` ms every ttl/3; returns the stop function. A refused extend ends it (the lock's signal aborts). */
export function keepAlive(lock: Lock, ttl: number, logger: Logger, onLost?: () => void): () => void {
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const schedule = () => {
    if (stopped) return;
    if (!lock.held) {
      onLost?.();
      return;
    }
    timer = setTimeout(tick, Math.max(1, Math.floor(ttl / 3)));
    timer.unref();
  };
  const tick = () => {
    lock.extend(ttl).then(schedule, (error: unknown) => {
      if (!lock.held) {
        if (!stopped) onLost?.();
        return;
      }
      logger.warn(`could not extend lease "${lock.key}"; retrying`, { error });
      schedule();
    });
  };
  schedule();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
