/**
 * `waitForJob` on the native engine (native-job-engine.ts): a waiter marks the job watched
 * (`<job key>:w`, with a TTL past its deadline) before it reads, and the final finish (or the cancel)
 * of a watched job publishes its key on the engine's finished channel, which wakes this node's
 * waiters of that key to read again. Nothing finished is missed (the mark is set before the first
 * read) and unwatched jobs publish nothing.
 */
import { waitTimeoutError, WATCH_MARGIN_MS, type JobRecord } from 'clusterkit/adapter-kit';
import type { RedisClient } from './connection.js';
import { readNativeJob, type Located } from './native-job-reads.js';

/** This node's waiters, by BullMQ job key. */
export class FinishWaiters {
  private readonly waiters = new Map<string, Set<() => void>>();

  /**
   * Resolves with the job's record once it is terminal (completed, failed, cancelled), null when it
   * is gone; rejects with `WAIT_TIMEOUT` after `timeoutMs`.
   */
  async wait(redis: RedisClient, jobId: string, at: Located, timeoutMs: number): Promise<JobRecord | null> {
    const key = at.keyPrefix + at.bullId;
    let wake: () => void = () => {};
    let woken = new Promise<void>((resolve) => (wake = resolve));
    const listener = () => wake();
    let set = this.waiters.get(key);
    if (!set) this.waiters.set(key, (set = new Set()));
    set.add(listener);
    const deadline = Date.now() + timeoutMs;
    try {
      await redis
        .pipeline()
        .set(`${key}:w`, '1', 'PX', timeoutMs + WATCH_MARGIN_MS, 'NX')
        .pexpire(`${key}:w`, timeoutMs + WATCH_MARGIN_MS, 'GT')
        .exec();
      for (;;) {
        woken = new Promise<void>((resolve) => (wake = resolve));
        const found = await readNativeJob(redis, jobId, at);
        if (!found) return null;
        const state = found.record.state;
        if (state === 'completed' || state === 'failed' || state === 'cancelled') return found.record;
        const left = deadline - Date.now();
        if (left <= 0) break;
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([woken, new Promise<void>((resolve) => (timer = setTimeout(resolve, left)))]);
        clearTimeout(timer);
      }
    } finally {
      set.delete(listener);
      if (set.size === 0 && this.waiters.get(key) === set) this.waiters.delete(key);
    }
    throw waitTimeoutError(jobId, timeoutMs);
  }

  /** A watched job's end was announced: its waiters here read again. */
  finished(jobKey: string): void {
    for (const listener of [...(this.waiters.get(jobKey) ?? [])]) listener();
  }
}
