/**
 * Calls a managed-job handler the one way both engines do (job-runner.ts, native-runner.ts): with
 * the job's context (`jobContextOf` plus a non-enumerable `log`), in its trace span when tracing is
 * on, inside the job's tenant context (or outside any tenant for a job enqueued outside one).
 */
import { ClusterError, ErrorCodes } from '../errors.js';
import { serializePayload } from '../validation.js';
import { jobSpanAttributes, jobSpanName, runInSpan, tracingEnabled } from '../tracing.js';
import { runWithTenant } from '../tenant/tenant-context.js';
import type { LazyAbort } from '../lazy-abort.js';
import { jobContextOf, type JobRecord } from './envelope.js';
import type { Registration } from './registration.js';
import { outsideTenant } from './scoped-key.js';
import type { ManagedJobHandlerContext, ManagedQueueJob } from './types.js';

/** The `job` a handler gets for `record`: its `signal` is made only when the handler reads it. */
export function handlerJob(
  record: JobRecord,
  abort: LazyAbort,
  progress: ManagedQueueJob['progress'],
  log: ManagedQueueJob['log'],
): ManagedQueueJob {
  return {
    id: record.id,
    name: record.jobName,
    data: record.payload,
    attemptsMade: record.attemptsMade,
    get signal() {
      return abort.signal;
    },
    progress,
    log,
  };
}

/**
 * Runs `registration`'s handler for `record` with `job`; `channel` is the span's
 * `messaging.destination.name`. Resolves or rejects as the handler does.
 */
export function invokeHandler(
  registration: Registration,
  record: JobRecord,
  job: ManagedQueueJob,
  log: ManagedQueueJob['log'],
  channel: string,
): Promise<unknown> {
  // A fresh object: `log` on it is not enumerable, so the span's `{ ...facts }` leaves it out.
  const facts = jobContextOf(record);
  const context = Object.defineProperty(facts, 'log', { value: log, enumerable: false }) as ManagedJobHandlerContext;
  // The span opens inside the tenant context (below), so whatever the handler does sees both.
  // `await` the handler's promise: adopting a returned promise costs an async function two more microtasks.
  const invoke = () =>
    !tracingEnabled()
      ? (async () => await registration.handler(job, context))()
      : runInSpan(
          jobSpanName(record),
          {
            carrier: record.trace,
            attributes: jobSpanAttributes({
              ...facts,
              id: record.id,
              attemptsMade: record.attemptsMade,
              physicalQueue: channel,
            }),
          },
          async () => registration.handler(job, context),
        );
  if (record.tenantId === undefined) return outsideTenant(invoke);
  const tenant = {
    tenantId: record.tenantId,
    ...(record.organizationId === undefined ? {} : { organizationId: record.organizationId }),
    ...(record.userId === undefined ? {} : { userId: record.userId }),
  };
  return runWithTenant(tenant, invoke);
}

/** The largest progress value a handler may report: 64 KiB of JSON. */
export const MAX_PROGRESS_BYTES = 64 * 1024;

/**
 * A handler's `job.progress(value)` argument as both engines keep it: checked (JSON-safe, at most
 * {@link MAX_PROGRESS_BYTES}; else `INVALID_PAYLOAD` at the call) and copied through JSON.
 */
export function checkedProgress(value: number | object): number | object {
  return JSON.parse(serializePayload('job progress', value, MAX_PROGRESS_BYTES)) as number | object;
}

/**
 * The failure of an attempt whose return value cannot be kept (`serializePayload`'s
 * `INVALID_PAYLOAD`): not retryable, since the same handler would return the same value again.
 */
export function returnValueFailure(error: ClusterError): ClusterError {
  return new ClusterError(ErrorCodes.INVALID_PAYLOAD, `job return value: ${error.message}`, { retryable: false });
}
