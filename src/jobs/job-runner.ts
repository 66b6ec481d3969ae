/**
 * Runs claimed job generations on this node: calls the handler inside the job's tenant context with
 * an abortable signal, then records the outcome — completed, a retry (next generation, published
 * with the backoff delay), failed or cancelled — with ONE store transition that holds only while
 * this node still owns the generation, and announces it.
 *
 * A generation is *reserved* here (synchronously, before the claim's first await) so two tickets of
 * one job on one node never run it twice, and an abort that arrives while the claim is in flight is
 * not lost.
 */
import { backoffDelay } from '../event-queue/backoff.js';
import { ClusterError, isClusterError, ErrorCodes, isUnrecoverable, serializeError } from '../errors.js';
import { serializePayload } from '../validation.js';
import { refOf, toJobInfo, type JobRecord } from './envelope.js';
import type { JobEvents } from './job-events.js';
import type { JobRef, JobStore, Retention } from './job-store.js';
import { LazyAbort, type AbortSource } from '../lazy-abort.js';
import type { Registration } from './processor-registry.js';
import { checkedProgress, handlerJob, invokeHandler, returnValueFailure } from './invoke-handler.js';
import { MAX_JOB_LOG_LINE_BYTES, MAX_JOB_LOG_LINES, type ManagedQueueEvents } from './types.js';

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
  readonly store: JobStore;
  readonly events: JobEvents;
  readonly nodeId: string;
  /** The physical queue's event-queue channel (the job span's `messaging.destination.name`). */
  readonly physicalChannel: string;
  readonly maxPayloadBytes: number;
  readonly completedRetentionMs: number;
  readonly failedRetentionMs: number;
  emit<K extends keyof ManagedQueueEvents>(event: K, ...args: ManagedQueueEvents[K]): void;
  /** Does anyone listen to `event`? (Its job info is built only then.) */
  listens(event: keyof ManagedQueueEvents): boolean;
  /** Publishes the ticket of a record's current generation and confirms it to the store. */
  publishRecord(record: JobRecord, delayMs: number): Promise<void>;
  reportError(error: unknown, meta?: Record<string, unknown>): void;
}

/** A generation reserved or running on this node. */
interface Running {
  readonly ref: JobRef;
  /** Its abort state; the AbortSignal is made only if the handler reads `job.signal`. */
  readonly abort: LazyAbort;
  abortRequested: boolean;
}

/** Runs jobs and records their outcomes. */
export class JobRunner {
  private readonly running = new Map<string, Running>();
  private idleWaiters: (() => void)[] = [];

  constructor(private readonly deps: RunnerDeps) {}

  /** How many generations are reserved or running here. */
  get size(): number {
    return this.running.size;
  }

  /** Is a generation of job `id` reserved or running on this node (and, given `ref`, that one)? */
  holds(id: string, ref?: JobRef): boolean {
    const entry = this.running.get(id);
    if (!entry || !ref) return entry !== undefined;
    return entry.ref.gen === ref.gen && (ref.nonce === '' || entry.ref.nonce === '' || entry.ref.nonce === ref.nonce);
  }

  /** Reserves `ref` before claiming it; false when this node already handles job `ref.id`. */
  reserve(ref: JobRef): boolean {
    if (this.running.has(ref.id)) return false;
    this.running.set(ref.id, { ref, abort: new LazyAbort(), abortRequested: false });
    return true;
  }

  /** Drops a reservation whose claim did not succeed. */
  unreserve(ref: JobRef): void {
    if (this.running.get(ref.id)?.ref === ref) this.drop(ref.id);
  }

  /** `cancel({ abortActive })` reached this node: abort the job's signal if it is reserved or runs here. */
  abort(id: string): void {
    const entry = this.running.get(id);
    if (!entry || entry.abortRequested) return;
    entry.abortRequested = true;
    entry.abort.abort(new JobCancelledError(id));
  }

  /** Aborts every running job (the node is stopping). */
  abortAll(reason: unknown): void {
    for (const entry of this.running.values()) entry.abort.abort(reason);
  }

  /** Resolves when nothing is reserved or running. */
  idle(): Promise<void> {
    if (this.running.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /**
   * Runs a claimed (and reserved) generation; `physical` is the abort state of the ticket's delivery
   * (its timeout, the node stopping), which aborts the job. Returns once the outcome is recorded;
   * throws only when the node is stopping (the caller hands the ticket back without spending an attempt).
   */
  async run(record: JobRecord, registration: Registration, physical: AbortSource): Promise<void> {
    const ref = refOf(record);
    const entry = this.running.get(record.id);
    if (!entry) throw new ClusterError(ErrorCodes.INVALID_STATE, `job ${record.id} was not reserved before its claim`);
    const startedAt = record.startedAt ?? Date.now();
    let stopFollowing: (() => void) | undefined;
    if (physical.aborted) entry.abort.abort(physical.reason);
    else stopFollowing = physical.onAbort((reason) => entry.abort.abort(reason));
    let value: unknown;
    let failure: unknown;
    let failed = false;
    try {
      // A cancel({ abortActive }) that landed between claim and here left its request on the record.
      if (record.abortRequested) this.abort(record.id);
      if (this.deps.listens('job:active')) this.deps.emit('job:active', toJobInfo(record));
      value = await this.call(record, ref, registration, entry.abort);
    } catch (error) {
      failed = true;
      failure = error;
    } finally {
      stopFollowing?.();
    }
    try {
      const durationMs = Date.now() - startedAt;
      if (failed && !entry.abortRequested && entry.abort.aborted && isShutdown(entry.abort.reason)) {
        // Not the job's fault: the ticket goes back unspent; another node takes the generation over.
        throw failure;
      }
      if (!failed) {
        try {
          await this.complete(record, value, durationMs);
          return;
        } catch (error) {
          if (!isClusterError(error) || error.code !== ErrorCodes.INVALID_PAYLOAD) throw error;
          failure = returnValueFailure(error);
        }
      }
      await this.fail(record, failure, { cancelled: entry.abortRequested, durationMs });
    } finally {
      this.settle(record);
    }
  }

  /**
   * Ends this node's reservation of `record`'s generation (only that one: a ticket of the next
   * generation may already be reserved here).
   */
  private settle(record: JobRecord): void {
    if (this.running.get(record.id)?.ref.gen === record.gen) this.drop(record.id);
  }

  private call(record: JobRecord, ref: JobRef, registration: Registration, abort: LazyAbort): Promise<unknown> {
    const log = (line: string) => this.log(ref, line);
    const job = handlerJob(record, abort, (value) => this.progress(record, ref, value), log);
    return invokeHandler(registration, record, job, log, this.deps.physicalChannel);
  }

  private async progress(record: JobRecord, ref: JobRef, value: number | object): Promise<void> {
    const progress = checkedProgress(value);
    if (!this.holds(record.id, ref)) return;
    if (!(await this.deps.store.setProgress(ref, this.deps.nodeId, progress))) return;
    record.progress = progress;
    this.deps.emit('job:progress', toJobInfo(record), progress);
  }

  private async log(ref: JobRef, line: string): Promise<void> {
    if (!this.holds(ref.id, ref)) return;
    await this.deps.store.appendLog(ref, this.deps.nodeId, clipLogLine(String(line)), MAX_JOB_LOG_LINES);
  }

  private async complete(record: JobRecord, value: unknown, durationMs: number): Promise<void> {
    const json = value === undefined ? undefined : serializePayload('return value', value, this.deps.maxPayloadBytes);
    const next = nextRecord(record);
    const now = Date.now();
    next.state = 'completed';
    next.finishedAt = now;
    next.attemptsMade += 1;
    if (json !== undefined) next.returnValue = JSON.parse(json);
    endAttempt(next, now, 'completed');
    const written = await this.write(record, next, retentionOf(next.removeOnComplete, this.deps.completedRetentionMs));
    if (!written) return;
    if (this.deps.listens('job:completed')) this.deps.emit('job:completed', toJobInfo(next), { durationMs });
    // Nobody waits for it (the store checked in the same step as the write): no announcement.
    if (written === 'unwatched') return;
    await this.deps.events.finished({
      type: 'finished',
      jobId: next.id,
      state: 'completed',
      returnValue: next.returnValue,
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
    const next = nextRecord(record);
    const now = Date.now();
    next.attemptsMade += 1;
    next.failedReason = serialized.message;
    if (serialized.code !== undefined) next.failedCode = serialized.code;
    else delete next.failedCode;
    if (serialized.stack !== undefined) next.stacktrace = [...(next.stacktrace ?? []), serialized.stack].slice(-5);
    const willRetry = !meta.cancelled && !isUnrecoverable(failure) && next.attemptsMade < next.maxAttempts;
    endAttempt(next, now, meta.cancelled ? 'cancelled' : 'failed', serialized);
    if (willRetry) {
      const delayMs = backoffDelay(next.backoff, next.attemptsMade);
      next.gen += 1;
      next.state = delayMs > 0 ? 'delayed' : 'waiting';
      next.runAt = now + delayMs;
      // The record names the new generation before its ticket exists: pending until confirmed.
      next.ticketPendingSince = now;
      if (!(await this.write(record, next, { remove: false, retentionMs: 0 }))) return;
      // The failed generation is settled: a ticket of the next one arriving here now (no backoff, a
      // free slot) must find the job free to reserve, not a duplicate of the run that just ended.
      this.settle(record);
      await this.deps.publishRecord(next, delayMs);
      this.deps.emit('job:failed', toJobInfo(next), error, { willRetry, durationMs: meta.durationMs });
      return;
    }
    next.state = meta.cancelled ? 'cancelled' : 'failed';
    next.finishedAt = now;
    const written = await this.write(record, next, retentionOf(next.removeOnFail, this.deps.failedRetentionMs));
    if (!written) return;
    this.deps.emit('job:failed', toJobInfo(next), error, { willRetry, durationMs: meta.durationMs });
    if (written === 'unwatched') return;
    await this.deps.events.finished({
      type: 'finished',
      jobId: next.id,
      state: next.state,
      error: meta.cancelled ? serializeError(new JobCancelledError(next.id)) : serialized,
    });
  }

  /** One transition; false (reported) when this node lost the generation while running it. */
  private async write(record: JobRecord, next: JobRecord, retention: Retention): Promise<boolean | 'unwatched'> {
    const written = await this.deps.store.finish(refOf(record), this.deps.nodeId, next, retention);
    if (written) return written;
    this.deps.reportError(
      new ClusterError(
        ErrorCodes.INVALID_STATE,
        `job ${record.id}: its outcome was not recorded, another node took generation ${record.gen} over`,
      ),
      { source: 'managedQueue.run', jobId: record.id },
    );
    return false;
  }

  private drop(id: string): void {
    this.running.delete(id);
    if (this.running.size === 0 && this.idleWaiters.length > 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const resolve of waiters) resolve();
    }
  }
}

/**
 * The record an attempt's outcome is written from: a copy of `record` that the outcome can change
 * without touching it — its own history (entries and their errors copied: ending an attempt edits
 * them) — sharing what outcomes never change (payload, trace, backoff) instead of deep-cloning it.
 * Without `owner` and `abortRequested` (a settled attempt has neither): left out by the rest
 * pattern, not spread and then `delete`d, which turned the copy into a slow dictionary that every
 * later step (the outcome, the store's finish, the events) read field by field (~10 µs per job).
 */
function nextRecord(record: JobRecord): JobRecord {
  const { owner: _owner, abortRequested: _abortRequested, ...next } = record;
  next.history = record.history.map((h) => (h.error === undefined ? { ...h } : { ...h, error: { ...h.error } }));
  return next;
}

/** Longest stack an attempt keeps in the history, in characters (its first frames say the most). */
const MAX_ATTEMPT_STACK_CHARS = 2_000;
/** How many of the latest attempts keep their stack (older ones keep message and code): bounds the record. */
const ATTEMPT_STACKS_KEPT = 5;

function endAttempt(
  record: JobRecord,
  now: number,
  outcome: 'completed' | 'failed' | 'cancelled',
  error?: { message: string; code?: string; stack?: string },
): void {
  const last = record.history.at(-1);
  if (!last || last.finishedAt !== undefined) return;
  last.finishedAt = now;
  last.outcome = outcome;
  if (!error) return;
  last.error = { message: error.message };
  if (error.code !== undefined) last.error.code = error.code;
  if (outcome === 'failed' && error.stack !== undefined) {
    last.error.stack =
      error.stack.length > MAX_ATTEMPT_STACK_CHARS ? `${error.stack.slice(0, MAX_ATTEMPT_STACK_CHARS)}…` : error.stack;
    for (const older of record.history.slice(0, -ATTEMPT_STACKS_KEPT)) delete older.error?.stack;
  }
}

function retentionOf(remove: boolean | number, fallbackMs: number): Retention {
  if (remove === true) return { remove: true, retentionMs: 0 };
  return { remove: false, retentionMs: typeof remove === 'number' ? remove : fallbackMs };
}

/** A log line cut to {@link MAX_JOB_LOG_LINE_BYTES} bytes of UTF-8 (marked `…` when cut). */
export function clipLogLine(line: string): string {
  if (Buffer.byteLength(line) <= MAX_JOB_LOG_LINE_BYTES) return line;
  let cut = line.slice(0, MAX_JOB_LOG_LINE_BYTES);
  while (Buffer.byteLength(cut) > MAX_JOB_LOG_LINE_BYTES - 3) cut = cut.slice(0, -1);
  return `${cut}…`;
}

export function isShutdown(reason: unknown): boolean {
  return isClusterError(reason) && reason.code === ErrorCodes.SHUTDOWN;
}
