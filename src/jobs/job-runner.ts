/**
 * Runs one claimed job generation on this node: marks it active, calls the handler inside the
 * job's tenant context with an abortable signal, then records the outcome — completed, a retry
 * (next generation, published with the backoff delay), failed or cancelled — and announces it.
 */
import { backoffDelay } from '../event-queue/backoff.js';
import { ClusterError, ErrorCodes, isUnrecoverable, serializeError } from '../errors.js';
import { jobSpanAttributes, jobSpanName, runInSpan, tracingEnabled } from '../tracing.js';
import { runWithTenant } from '../tenant/tenant-context.js';
import { serializePayload } from '../validation.js';
import { envelopeOf, jobContextOf, toJobInfo, type JobEnvelope, type JobRecord } from './envelope.js';
import type { JobEvents } from './job-events.js';
import type { JobStore } from './job-store.js';
import { outsideTenant } from './scoped-key.js';
import type { Registration } from './processor-registry.js';
import type { ManagedQueueEvents, ManagedQueueJob } from './types.js';

/** The reason a cancelled job's signal aborts with, and the error `waitForJob` rejects with. */
export class JobCancelledError extends ClusterError {
  override readonly name = 'JobCancelledError';
  constructor(jobId: string) {
    super(ErrorCodes.JOB_CANCELLED, `job ${jobId} was cancelled`, { details: { jobId }, retryable: false });
  }
}

/** What `waitForJob` rejects with when the job failed: its last failure, as recorded. */
export class JobFailedError extends Error {
  override readonly name = 'JobFailedError';
  /** The failure's code (`NO_PROCESSOR`, `QUEUE_TIMEOUT`, a plugin's own code), when it had one. */
  readonly code?: string;
  readonly jobId: string;
  constructor(jobId: string, failure: { message: string; code?: string; stack?: string }) {
    super(failure.message);
    this.jobId = jobId;
    if (failure.code !== undefined) this.code = failure.code;
    if (failure.stack !== undefined) this.stack = failure.stack;
  }
}

/** What the runner needs from the managed queue. */
export interface RunnerDeps {
  readonly jobs: JobStore;
  readonly events: JobEvents;
  readonly nodeId: string;
  /** The physical queue's event-queue channel (the job span's `messaging.destination.name`). */
  readonly physicalChannel: string;
  readonly maxPayloadBytes: number;
  readonly completedRetentionMs: number;
  readonly failedRetentionMs: number;
  emit<K extends keyof ManagedQueueEvents>(event: K, ...args: ManagedQueueEvents[K]): void;
  publishTicket(envelope: JobEnvelope, delayMs: number, physicalId: string): Promise<void>;
  reportError(error: unknown, meta?: Record<string, unknown>): void;
}

/** A job running on this node. */
interface Running {
  readonly controller: AbortController;
  abortRequested: boolean;
}

/** Runs jobs and records their outcomes. */
export class JobRunner {
  private readonly running = new Map<string, Running>();

  constructor(private readonly deps: RunnerDeps) {}

  /** Is job `id` running on this node? */
  isRunning(id: string): boolean {
    return this.running.has(id);
  }

  /** `cancel({ abortActive })` reached this node: abort the job's signal if it runs here. */
  abort(id: string): void {
    const entry = this.running.get(id);
    if (!entry) return;
    entry.abortRequested = true;
    entry.controller.abort(new JobCancelledError(id));
  }

  /**
   * Runs a claimed generation. Returns normally once the outcome is recorded; throws only when the
   * node is stopping (the event queue then hands the ticket back without spending an attempt).
   */
  async run(record: JobRecord, registration: Registration, physical: AbortSignal): Promise<void> {
    const { jobs } = this.deps;
    const startedAt = Date.now();
    record.state = 'active';
    record.owner = this.deps.nodeId;
    record.startedAt = startedAt;
    delete record.noProcessorSince;
    await jobs.put(record);
    const entry: Running = { controller: new AbortController(), abortRequested: false };
    this.running.set(record.id, entry);
    const onPhysicalAbort = () => entry.controller.abort(physical.reason);
    if (physical.aborted) onPhysicalAbort();
    else physical.addEventListener('abort', onPhysicalAbort, { once: true });
    let value: unknown;
    let failure: unknown;
    let failed = false;
    try {
      // A cancel({ abortActive }) that raced the start left this mark; honour it now.
      if ((await jobs.store.get(jobs.key('abort', record.id))) !== undefined) this.abort(record.id);
      this.deps.emit('job:active', toJobInfo(record));
      value = await this.call(record, registration, entry.controller.signal);
    } catch (error) {
      failed = true;
      failure = error;
    } finally {
      physical.removeEventListener('abort', onPhysicalAbort);
      this.running.delete(record.id);
    }
    const durationMs = Date.now() - startedAt;
    if (failed && !entry.abortRequested && physical.aborted && isShutdown(physical.reason)) {
      // Not the job's fault: hand the ticket back unspent; another node takes over the claim.
      throw failure;
    }
    if (!failed) {
      try {
        await this.complete(record, value, durationMs);
        return;
      } catch (error) {
        if (!(error instanceof ClusterError) || error.code !== ErrorCodes.INVALID_PAYLOAD) throw error;
        failure = new ClusterError(ErrorCodes.INVALID_PAYLOAD, `job return value: ${error.message}`, {
          retryable: false,
        });
      }
    }
    await this.fail(record, failure, { cancelled: entry.abortRequested, durationMs });
  }

  private call(record: JobRecord, registration: Registration, signal: AbortSignal): Promise<unknown> {
    const job: ManagedQueueJob = {
      id: record.id,
      name: record.jobName,
      data: record.payload,
      attemptsMade: record.attemptsMade,
      signal,
      progress: (value) => this.progress(record, value),
    };
    const context = jobContextOf(record);
    // The span opens inside the tenant context (below), so whatever the handler does sees both.
    const invoke = () =>
      !tracingEnabled()
        ? (async () => registration.handler(job, context))()
        : runInSpan(
            jobSpanName(record),
            {
              carrier: record.trace,
              attributes: jobSpanAttributes({
                ...context,
                id: record.id,
                attemptsMade: record.attemptsMade,
                physicalQueue: this.deps.physicalChannel,
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

  private async progress(record: JobRecord, value: number | object): Promise<void> {
    const text = serializePayload('job progress', value, 64 * 1024);
    if (!this.running.has(record.id) || record.state !== 'active') return;
    record.progress = JSON.parse(text) as number | object;
    await this.deps.jobs.put(record);
    this.deps.emit('job:progress', toJobInfo(record), record.progress);
  }

  private async complete(record: JobRecord, value: unknown, durationMs: number): Promise<void> {
    const json = value === undefined ? undefined : serializePayload('return value', value, this.deps.maxPayloadBytes);
    record.state = 'completed';
    record.finishedAt = Date.now();
    delete record.owner;
    if (json !== undefined) record.returnValue = JSON.parse(json);
    await this.store(record, record.removeOnComplete, this.deps.completedRetentionMs);
    this.deps.emit('job:completed', toJobInfo(record), { durationMs });
    await this.deps.events.finished({
      type: 'finished',
      jobId: record.id,
      state: 'completed',
      returnValue: record.returnValue,
      hasReturnValue: true,
    });
  }

  /**
   * Records a failed attempt: the next generation when attempts remain (and the failure is neither
   * permanent nor a cancel), else the terminal state. Also used for "no processor anywhere".
   */
  async fail(record: JobRecord, failure: unknown, meta: { cancelled: boolean; durationMs: number }): Promise<void> {
    const error = failure instanceof Error ? failure : new Error(serializeError(failure).message);
    const serialized = serializeError(failure);
    record.attemptsMade += 1;
    record.failedReason = serialized.message;
    if (serialized.code !== undefined) record.failedCode = serialized.code;
    else delete record.failedCode;
    if (serialized.stack !== undefined) record.stacktrace = [...(record.stacktrace ?? []), serialized.stack].slice(-5);
    delete record.owner;
    const willRetry = !meta.cancelled && !isUnrecoverable(failure) && record.attemptsMade < record.maxAttempts;
    if (willRetry) {
      const delayMs = backoffDelay(record.backoff, record.attemptsMade);
      record.gen += 1;
      record.state = delayMs > 0 ? 'delayed' : 'waiting';
      record.runAt = Date.now() + delayMs;
      // Record first, then the ticket: a ticket never arrives before the generation it names.
      await this.deps.jobs.put(record);
      await this.deps.publishTicket(envelopeOf(record), delayMs, `${record.id}|${record.gen}`);
      await this.deps.jobs.settleClaim(record.id, record.gen - 1);
      this.deps.emit('job:failed', toJobInfo(record), error, { willRetry, durationMs: meta.durationMs });
      return;
    }
    record.state = meta.cancelled ? 'cancelled' : 'failed';
    record.finishedAt = Date.now();
    await this.store(record, record.removeOnFail, this.deps.failedRetentionMs);
    this.deps.emit('job:failed', toJobInfo(record), error, { willRetry, durationMs: meta.durationMs });
    await this.deps.events.finished({
      type: 'finished',
      jobId: record.id,
      state: record.state,
      error: meta.cancelled ? serializeError(new JobCancelledError(record.id)) : serialized,
    });
  }

  /** Writes a finished record, or deletes it (`remove === true`), with its retention as TTL. */
  private async store(record: JobRecord, remove: boolean | number, defaultRetentionMs: number): Promise<void> {
    if (remove === true) await this.deps.jobs.delete(record.id);
    else await this.deps.jobs.put(record, typeof remove === 'number' ? remove : defaultRetentionMs);
    await this.deps.jobs.settleClaim(record.id, record.gen);
  }
}

function isShutdown(reason: unknown): boolean {
  return reason instanceof ClusterError && reason.code === ErrorCodes.SHUTDOWN;
}
