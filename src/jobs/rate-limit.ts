/**
 * The two cluster-wide limits a handler may declare, both checked before a job starts:
 *
 * - `rateLimit: { max, durationMs }` — at most `max` starts per fixed window of `durationMs`,
 *   counted with one `INCR` per start on the shared KV (window = floor(now / durationMs)). A fixed
 *   window allows up to 2×max starts across a window boundary; in exchange it costs one round trip.
 * - `globalConcurrency: n` — at most `n` running jobs across the cluster: `n` lock slots on the lock
 *   manager, each held (and its lease kept alive) while a job runs, so a crashed node's slot frees
 *   when its lease expires.
 *
 * `concurrency` (per handler) is LOCAL: it limits one node only (see processor-registry.ts).
 */
import { LockAcquireError } from '../errors.js';
import type { Lock, LockManager } from '../lock/lock-manager.js';
import type { JobStore } from './job-store.js';
import type { RateLimit } from './types.js';

/** Lease of a global-concurrency slot, in ms; extended every third of it while the job runs. */
export const GLOBAL_SLOT_TTL_MS = 30_000;

/**
 * Counts one start against the handler's rate limit. Returns 0 when the start is allowed, else how
 * many ms until the current window ends (when the job should come back).
 */
export async function takeRateSlot(
  jobs: JobStore,
  handler: string,
  limit: RateLimit,
  now = Date.now(),
): Promise<number> {
  const window = Math.floor(now / limit.durationMs);
  const count = await jobs.store.incr(jobs.key('rate', handler, window), 1, limit.durationMs * 2);
  if (count <= limit.max) return 0;
  return Math.max(1, (window + 1) * limit.durationMs - now);
}

/** A held global-concurrency slot. */
export interface GlobalSlot {
  release(): Promise<void>;
}

/**
 * Takes one of `slots` cluster-wide slots for `handler`, trying them from a random start so nodes
 * do not all contend for slot 0. Returns `undefined` when every slot is held.
 */
export async function takeGlobalSlot(
  locks: LockManager,
  handler: string,
  slots: number,
  onError: (error: unknown) => void,
): Promise<GlobalSlot | undefined> {
  const start = Math.floor(Math.random() * slots);
  for (let i = 0; i < slots; i += 1) {
    const slot = (start + i) % slots;
    let lock: Lock;
    try {
      lock = await locks.tryAcquire(`managed-queue:concurrency:${handler}:${slot}`, GLOBAL_SLOT_TTL_MS);
    } catch (error) {
      if (error instanceof LockAcquireError) continue;
      throw error;
    }
    const timer = setInterval(() => {
      lock.extend(GLOBAL_SLOT_TTL_MS).catch(onError);
    }, GLOBAL_SLOT_TTL_MS / 3);
    timer.unref?.();
    return {
      async release() {
        clearInterval(timer);
        await lock.release().catch(onError);
      },
    };
  }
  return undefined;
}
