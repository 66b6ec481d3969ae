/**
 * The write-side operator calls on one job: `cancel` and `retry`. Both change a job only after
 * winning the generation's claim key (see job-store.ts), so they never race a node starting it.
 */
import { assertName, assertOptions } from '../validation.js';
import { envelopeOf, type JobEnvelope } from './envelope.js';
import type { JobEvents } from './job-events.js';
import { visibleToCaller } from './job-queries.js';
import type { JobStore } from './job-store.js';

/** Result of `cancel`. */
export interface CancelResult {
  success: boolean;
  reason?: 'active' | 'completed' | 'failed' | 'not_found';
}

/** Result of `retry`. */
export interface RetryResult {
  success: boolean;
  reason?: 'not_found' | 'waiting' | 'delayed' | 'active' | 'completed' | 'already_retried';
}

/** What cancel/retry need from the managed queue. */
export interface ControlDeps {
  readonly jobs: JobStore;
  readonly events: JobEvents;
  readonly failedRetentionMs: number;
  publishTicket(envelope: JobEnvelope, delayMs: number, physicalId: string): Promise<void>;
}

/**
 * Cancels a waiting or delayed job. An active job is aborted only with `abortActive`: a mark is
 * stored (a start racing the cancel sees it) and every node is told; the node running it aborts the
 * job's signal, and the job ends `cancelled` (never retried) unless it completes anyway.
 */
export async function cancelJob(
  deps: ControlDeps,
  options: { jobId: string; abortActive?: boolean },
): Promise<CancelResult> {
  const { jobId, abortActive } = assertOptions('managedQueue.cancel', options, ['jobId', 'abortActive']);
  assertName('jobId', jobId);
  const { jobs } = deps;
  // A few rounds: a failed attempt may move the job to its next generation between read and claim.
  for (let round = 0; round < 5; round += 1) {
    const record = await jobs.get(jobId as string);
    if (!record || !visibleToCaller(record)) return { success: false, reason: 'not_found' };
    if (record.state === 'cancelled') return { success: true };
    if (record.state === 'completed' || record.state === 'failed') return { success: false, reason: record.state };
    let active = record.state === 'active';
    if (!active) {
      if (await jobs.claim(record.id, record.gen, 'cancelled')) {
        record.state = 'cancelled';
        record.finishedAt = Date.now();
        if (record.removeOnFail === true) await jobs.delete(record.id);
        else
          await jobs.put(
            record,
            typeof record.removeOnFail === 'number' ? record.removeOnFail : deps.failedRetentionMs,
          );
        await jobs.settleClaim(record.id, record.gen);
        await deps.events.finished({ type: 'finished', jobId: record.id, state: 'cancelled' });
        return { success: true };
      }
      active = (await jobs.claimOf(record.id, record.gen))?.startsWith('active|') === true;
      if (!active) continue;
    }
    if (abortActive !== true) return { success: false, reason: 'active' };
    await jobs.store.set(jobs.key('abort', record.id), '1', { ttlMs: deps.failedRetentionMs });
    await deps.events.abort(record.id);
    return { success: true };
  }
  return { success: false, reason: 'active' };
}

/** Runs a failed or cancelled job again, as a new generation with a fresh attempt budget. */
export async function retryJob(deps: ControlDeps, jobId: string): Promise<RetryResult> {
  assertName('jobId', jobId);
  const { jobs } = deps;
  const record = await jobs.get(jobId);
  if (!record || !visibleToCaller(record)) return { success: false, reason: 'not_found' };
  if (record.state !== 'failed' && record.state !== 'cancelled') return { success: false, reason: record.state };
  const retryKey = jobs.key('retry', record.gen, record.id);
  if (!(await jobs.store.set(retryKey, '1', { nx: true, ttlMs: deps.failedRetentionMs }))) {
    return { success: false, reason: 'already_retried' };
  }
  record.gen += 1;
  record.state = 'waiting';
  record.attemptsMade = 0;
  record.runAt = Date.now();
  for (const key of [
    'finishedAt',
    'startedAt',
    'failedReason',
    'failedCode',
    'returnValue',
    'noProcessorSince',
  ] as const) {
    delete record[key];
  }
  await jobs.store.del(jobs.key('abort', record.id));
  // Record first, then the ticket: a ticket never arrives before the generation it names.
  await jobs.put(record);
  await deps.publishTicket(envelopeOf(record), 0, `${record.id}|${record.gen}`);
  return { success: true };
}
