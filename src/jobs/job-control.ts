/**
 * The write-side operator calls on one job: `cancel`, `retry`, `remove` and `promote`. Each is ONE
 * store transition that reads and changes the record in the same step, so none can race a node
 * starting the job. `retry` and `promote` then publish the new generation's ticket; a crash before
 * that leaves the record "ticket pending", which the reconciler republishes (`ticketRepairMs`).
 */
import { currentTenant } from '../tenant/tenant-context.js';
import { assertName, assertOptions } from '../validation.js';
import type { JobRecord } from './envelope.js';
import type { JobEvents } from './job-events.js';
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

/** Result of `remove`. */
export interface RemoveResult {
  success: boolean;
  /** `active`: a running job is not removed (cancel it with `abortActive` first). */
  reason?: 'not_found' | 'active';
}

/** Result of `promote`. */
export interface PromoteResult {
  success: boolean;
  /** The job is not delayed (any more): it is in the state named here. */
  reason?: 'not_found' | 'waiting' | 'active' | 'completed' | 'failed' | 'cancelled';
}

/** What the operator calls need from the managed queue. */
export interface ControlDeps {
  readonly store: JobStore;
  readonly events: JobEvents;
  readonly failedRetentionMs: number;
  /** Publishes the ticket of a record's current generation and confirms it to the store. */
  publishRecord(record: JobRecord, delayMs: number): Promise<void>;
}

/**
 * Cancels a waiting or delayed job. An active job is aborted only with `abortActive`: the request is
 * stored on the record for its current generation (a start racing the cancel sees it) and every node
 * is told; the node running it aborts the job's signal, and the job ends `cancelled` (never retried)
 * unless it completes anyway. The request ends with that generation.
 */
export async function cancelJob(
  deps: ControlDeps,
  options: { jobId: string; abortActive?: boolean },
): Promise<CancelResult> {
  const { jobId, abortActive } = assertOptions('managedQueue.cancel', options, ['jobId', 'abortActive']);
  assertName('jobId', jobId);
  const tenantId = currentTenant()?.tenantId;
  const outcome = await deps.store.cancel(jobId as string, {
    abortActive: abortActive === true,
    now: Date.now(),
    failedRetentionMs: deps.failedRetentionMs,
    ...(tenantId === undefined ? {} : { tenantId }),
  });
  switch (outcome.type) {
    case 'cancelled':
      await deps.events.finished({ type: 'finished', jobId: jobId as string, state: 'cancelled' });
      return { success: true };
    case 'abort-requested':
      await deps.events.abort(jobId as string);
      return { success: true };
    default:
      return { success: false, reason: outcome.type };
  }
}

/** Runs a failed or cancelled job again, as a new generation with a fresh attempt budget. */
export async function retryJob(deps: ControlDeps, jobId: string): Promise<RetryResult> {
  assertName('jobId', jobId);
  const tenantId = currentTenant()?.tenantId;
  const outcome = await deps.store.retry(jobId, { now: Date.now(), ...(tenantId === undefined ? {} : { tenantId }) });
  if (outcome.type !== 'retried') return { success: false, reason: outcome.type };
  await deps.publishRecord(outcome.record, 0);
  return { success: true };
}

/**
 * Deletes a job that is not running: a finished one, or a waiting/delayed one (its ticket, when it
 * arrives, finds nothing and is dropped, so it never runs). A running job is refused.
 */
export async function removeJob(deps: ControlDeps, jobId: string): Promise<RemoveResult> {
  assertName('jobId', jobId);
  const tenantId = currentTenant()?.tenantId;
  const outcome = await deps.store.discard(jobId, tenantId === undefined ? {} : { tenantId });
  if (outcome.type !== 'removed') return { success: false, reason: outcome.type };
  // Callers waiting for it (`waitForJob`, on any node) stop waiting instead of running into their timeout.
  await deps.events.removed(jobId);
  return { success: true };
}

/** Runs a delayed job now, as its next generation (attempts kept); the delayed ticket is dropped when due. */
export async function promoteJob(deps: ControlDeps, jobId: string): Promise<PromoteResult> {
  assertName('jobId', jobId);
  const tenantId = currentTenant()?.tenantId;
  const outcome = await deps.store.promote(jobId, {
    now: Date.now(),
    ...(tenantId === undefined ? {} : { tenantId }),
  });
  if (outcome.type !== 'promoted') return { success: false, reason: outcome.type };
  await deps.publishRecord(outcome.record, 0);
  return { success: true };
}
