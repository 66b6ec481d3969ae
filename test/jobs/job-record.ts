/**
 * A job record for store-level tests: a waiting job of handler `p:q:j` with no attempts yet; tests
 * override what they check.
 */
import { randomUUID } from 'node:crypto';
import type { JobRecord } from 'clusterkit/adapter-kit';

/** A minute ago: claims and releases compare with the real clock, retention ends are real times. */
export const NOW = Date.now() - 60_000;

/** A fresh waiting record (new id unless `over.id`), enqueued and due at {@link NOW}. */
export function jobRecord(over: Partial<JobRecord> = {}): JobRecord {
  return {
    v: 1,
    id: over.id ?? randomUUID(),
    nonce: 'n1',
    gen: 0,
    state: 'waiting',
    pluginName: 'p',
    queueName: 'q',
    jobName: 'j',
    payload: { x: 1 },
    priority: 2,
    maxAttempts: 5,
    attemptsMade: 0,
    attemptsStarted: 0,
    history: [],
    delayMs: 0,
    backoff: { type: 'fixed', delay: 0, maxDelay: 0, jitter: 0 },
    progress: 0,
    enqueuedAt: NOW,
    runAt: NOW,
    removeOnComplete: false,
    removeOnFail: false,
    ...over,
  };
}
