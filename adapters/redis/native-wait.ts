/**
 * `waitForJob` on the native engine (native-job-engine.ts): a waiter marks the job watched
 * (`<job key>:w`, with a TTL past its deadline) before it reads, and the final finish (or the cancel)
 * of a watched job publishes its key on the engine's finished channel, which wakes this node's
 * waiters of that key to read again. Nothing finished is missed (the mark is set before the first
 * read) and unwatched jobs publish nothing.
 *
 * A watched job removed by its finish (`removeOnComplete` / `removeOnFail`) is answered from its
 * end: the finish script (native-scripts.ts) writes the outcome into the mark (TTL kept) and
 * publishes it after the key, `<job key>\n<outcome>`; a waiter whose read finds the job gone
 * answers from the announcement, or from the mark when the announcement has not arrived (yet).
 * `remove` does the same with the outcome `["removed"]`, so its waiters hear "was removed".
 */
import { waitTimeoutError, WATCH_MARGIN_MS, type FinishedJob } from 'clusterkit/adapter-kit';
import type { RedisClient } from './connection.js';
import { readNativeJob, type Located } from './native-job-reads.js';

/** This node's waiters, by BullMQ job key; each is told the announced outcome, if any. */
export class FinishWaiters {
  private readonly waiters = new Map<string, Set<(outcome: string | undefined) => void>>();

  /**
   * Resolves with the job's record once it is terminal (completed, failed, cancelled) — or with its
   * announced end when its finish removed it — `'removed'` when it was removed (`remove`) while this
   * waited, null when it was gone at the first read; rejects with `WAIT_TIMEOUT` after `timeoutMs`.
   */
  async wait(
    redis: RedisClient,
    jobId: string,
    at: Located,
    timeoutMs: number,
  ): Promise<FinishedJob | 'removed' | null> {
    const key = at.keyPrefix + at.bullId;
    let wake: () => void = () => {};
    let woken = new Promise<void>((resolve) => (wake = resolve));
    let announced: string | undefined;
    const listener = (outcome: string | undefined) => {
      if (outcome !== undefined) announced = outcome;
      wake();
    };
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
      for (let first = true; ; first = false) {
        woken = new Promise<void>((resolve) => (wake = resolve));
        const found = await readNativeJob(redis, jobId, at);
        if (!found) {
          // Gone without an end: removed while this waited ('removed'), or gone before it read (null).
          const end = endOf(announced ?? (await redis.get(`${key}:w`)) ?? undefined);
          return end ?? (first ? null : 'removed');
        }
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

  /** A message on the finished channel: a watched job's end; its waiters here read again. */
  finished(message: string): void {
    const cut = message.indexOf('\n');
    const jobKey = cut < 0 ? message : message.slice(0, cut);
    const outcome = cut < 0 ? undefined : message.slice(cut + 1);
    for (const listener of [...(this.waiters.get(jobKey) ?? [])]) listener(outcome);
  }
}

/**
 * The end a finish script announced for a job it removed (`["completed", returnvalue]`,
 * `["failed", failedReason, code?]`, `["cancelled"]`; returnvalue is BullMQ's JSON text) — or
 * `'removed'` for `["removed"]`, which `remove` writes (native-job-reads.ts) — or null when there is
 * none (the mark holds `1`, or is gone).
 */
export function endOf(outcome: string | undefined): FinishedJob | 'removed' | null {
  if (outcome === undefined || !outcome.startsWith('[')) return null;
  const [state, value, code] = JSON.parse(outcome) as [string, string?, string?];
  if (state === 'removed') return state;
  if (state === 'cancelled') return { state };
  if (state === 'failed') return { state, failedReason: value, ...(code ? { failedCode: code } : {}) };
  if (state !== 'completed') return null;
  const returnValue = parse(value);
  return returnValue === null || returnValue === undefined ? { state } : { state, returnValue };
}

function parse(text: string | undefined): unknown {
  if (text === undefined || text === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
