/**
 * `waitForJob`: resolves with a job's return value or rejects with its failure, on any node. The
 * waiter subscribes to the finished-job announcement first, registers its interest with the store
 * (where the store supports it, ends nobody waits for are not announced), and reads the record once
 * after, so a job that finished before the call is seen and nothing is missed; no polling loop.
 */
import { ClusterError, ErrorCodes } from '../errors.js';
import { isTerminal, type JobRecord } from './envelope.js';
import type { JobEnded, JobEvents } from './job-events.js';
import { visibleToCaller } from './job-queries.js';
import { JobCancelledError, JobFailedError } from './job-runner.js';
import type { JobStore } from './job-store.js';

/** How much longer than the wait its registered interest (a watch mark) lasts, in ms. */
export const WATCH_MARGIN_MS = 5_000;

/** How a waited-for job can be missing. */
export type JobGone = 'was removed' | 'does not exist' | 'no longer exists';

/** What `waitForJob` rejects with when the job is missing (`NOT_FOUND`). */
export function jobGoneError(jobId: string, how: JobGone): ClusterError {
  return new ClusterError(ErrorCodes.NOT_FOUND, `job ${jobId} ${how}`, { details: { jobId }, retryable: false });
}

/** What `waitForJob` rejects with when the job has not finished within `timeoutMs` (`WAIT_TIMEOUT`). */
export function waitTimeoutError(jobId: string, timeoutMs: number): ClusterError {
  return new ClusterError(ErrorCodes.WAIT_TIMEOUT, `job ${jobId} did not finish within ${timeoutMs} ms`, {
    details: { jobId, timeoutMs },
  });
}

/** What `waitForJob` rejects with for a job that ended cancelled or failed: as its record says. */
export function endErrorOf(
  jobId: string,
  record: Pick<JobRecord, 'state' | 'failedReason' | 'failedCode' | 'stacktrace'>,
): Error {
  if (record.state === 'cancelled') return new JobCancelledError(jobId);
  return new JobFailedError(jobId, {
    message: record.failedReason ?? 'failed',
    code: record.failedCode,
    stack: record.stacktrace?.at(-1),
  });
}

/** Waits for job `jobId` to finish, at most `timeoutMs`. */
export function waitForJob(jobs: JobStore, events: JobEvents, jobId: string, timeoutMs: number): Promise<unknown> {
  return new Promise<unknown>((resolve, reject) => {
    let settled = false;
    const settle = (outcome: () => void) => {
      if (settled) return;
      settled = true;
      off();
      clearTimeout(timer);
      outcome();
    };
    const fromRecord = (record: JobRecord) => {
      if (record.state === 'completed') settle(() => resolve(record.returnValue));
      else settle(() => reject(endErrorOf(jobId, record)));
    };
    const gone = (how: JobGone) => settle(() => reject(jobGoneError(jobId, how)));
    const fromEvent = (event: JobEnded) => {
      if (event.type === 'removed') gone('was removed');
      else if (event.state === 'completed') {
        if (event.hasReturnValue !== false) settle(() => resolve(event.returnValue));
        else
          // Interest first, then the read, issued back to back (a store orders them: one Redis connection).
          // A store with `watch` announces an end only to registered interest, checked atomically with
          // the end's write: an end before the registration is in the record, an end after it is announced.
          jobs.watch?.(jobId, timeoutMs + WATCH_MARGIN_MS).catch((error: unknown) => settle(() => reject(error)));
        jobs.get(jobId).then(
          (r) => (r ? fromRecord(r) : settle(() => resolve(undefined))),
          (e: unknown) => settle(() => reject(e)),
        );
      } else if (event.state === 'cancelled') settle(() => reject(new JobCancelledError(jobId)));
      else settle(() => reject(new JobFailedError(jobId, event.error ?? { message: 'failed' })));
    };
    const off = events.onFinished(jobId, fromEvent);
    const timedOut = () => settle(() => reject(waitTimeoutError(jobId, timeoutMs)));
    // At the deadline, one last look at the record: pub/sub is at-most-once, so an announcement may
    // have been lost while the job did finish. (One read, not a polling loop.)
    const timer = setTimeout(() => {
      jobs
        .get(jobId)
        .then(
          (record) => (!record ? gone('no longer exists') : isTerminal(record.state) ? fromRecord(record) : timedOut()),
          timedOut,
        );
    }, timeoutMs);
    // Interest first, then the read, issued back to back (a store orders them: one Redis connection).
    // A store with `watch` announces an end only to registered interest, checked atomically with
    // the end's write: an end before the registration is in the record, an end after it is announced.
    jobs.watch?.(jobId, timeoutMs + WATCH_MARGIN_MS).catch((error: unknown) => settle(() => reject(error)));
    jobs.get(jobId).then(
      (record) => {
        if (!record || !visibleToCaller(record)) gone('does not exist');
        else if (isTerminal(record.state)) fromRecord(record);
      },
      (error: unknown) => settle(() => reject(error)),
    );
  });
}
