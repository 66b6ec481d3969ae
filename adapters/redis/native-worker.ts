/**
 * One handler's BullMQ worker in the native managed-job engine (native-job-engine.ts): a `Worker`
 * of the handler's queue with the handler's concurrency on this node, started when the handler is
 * registered. It runs each fetched job through core (`handler.run`) and lets BullMQ record the
 * outcome: completed (return value), a retry with the job's backoff policy (BullMQ's `attempts`
 * with the engine's backoff strategy), or a final failure — unrecoverable errors and cancelled
 * attempts as BullMQ `UnrecoverableError`s, so they are not retried.
 *
 * "Never twice at once" rests on BullMQ's lock: a job runs under its worker's lock token, which the
 * worker extends; when an extension fails (`lockRenewalFailed`, BullMQ ≥ 5.x LockManager: the lock
 * expired or was taken, and BullMQ's stalled check may have handed the job to another worker) the
 * handler's signal aborts with `LOCK_LOST`, and whatever it returns is refused by BullMQ's finish
 * (its lock-token check). A handler that ignores its signal can still overlap the next run until it
 * returns — the same cooperative contract as `cancel({ abortActive })`.
 */
import { UnrecoverableError as BullUnrecoverable, WaitingError, Worker, type Job } from 'bullmq';
import {
  backoffDelay,
  clipLogLine,
  ClusterError,
  ErrorCodes,
  JobCancelledError,
  LazyAbort,
  NativeRunFailure,
  type JobRecord,
  type ManagedJobState,
  type NativeActiveJob,
  type NativeHandler,
} from 'clusterkit/adapter-kit';
import type { RedisClient } from './connection.js';
import {
  generatedIdPrefix,
  nativeBackoffOf,
  publicIdWith,
  recordOf,
  type BullFields,
  type HandlerName,
  type NativeData,
} from './native-job-shape.js';
import { codeOf, markedWithCode, unmarkStacktrace } from './native-failed-code.js';
import { wrapNativeWorkerScripts } from './native-scripts.js';

/** What a native worker needs from its engine. */
export interface NativeWorkerDeps {
  readonly connection: RedisClient;
  /** BullMQ's key prefix. */
  readonly prefix: string;
  readonly nodeId: string;
  readonly finishedChannel: string;
  readonly lockDurationMs: number;
  readonly stalledIntervalMs: number;
  /** Attempts running on this node by job key (aborted by cancel, lost locks, stop). */
  readonly running: Map<string, LazyAbort>;
  /** Did a cancel with `abortActive` for this job key reach this node just before it started? */
  abortedEarly(jobKey: string): boolean;
  reportError(error: unknown, meta?: Record<string, unknown>): void;
}

/** The fields core reads, from a BullMQ `Job` (no round trip). */
function fieldsOfJob(job: Job): BullFields {
  // Per attempt: optional fields assigned, not spread in.
  const f: { -readonly [K in keyof BullFields]: BullFields[K] } = {
    data: job.data as NativeData,
    attempts: job.opts.attempts ?? 1,
    attemptsMade: job.attemptsMade,
    attemptsStarted: job.attemptsStarted,
    timestamp: job.timestamp,
    progress: job.progress,
    returnvalue: job.returnvalue,
    stacktrace: job.stacktrace ?? [],
  };
  // The newest stack of a failure just recorded still carries its code's mark (native-failed-code.ts);
  // a job that has not failed (nearly every attempt) has no stack to unmark.
  if (f.stacktrace!.length > 0) {
    const unmarked = unmarkStacktrace(f.stacktrace!);
    f.stacktrace = unmarked.stacktrace;
    if (unmarked.code !== undefined) f.failedCode = unmarked.code;
  }
  if (job.processedOn) f.processedOn = job.processedOn;
  if (job.finishedOn) f.finishedOn = job.finishedOn;
  if (job.failedReason) f.failedReason = job.failedReason;
  return f;
}

/** The job core runs (one object per attempt: its methods are the prototype's, not closures). */
class ActiveJob implements NativeActiveJob {
  constructor(
    readonly record: JobRecord,
    readonly abort: LazyAbort,
    private readonly job: Job,
  ) {}

  async progress(value: number | object): Promise<void> {
    await this.job.updateProgress(value);
  }

  async log(line: string): Promise<void> {
    await this.job.log(clipLogLine(String(line)));
  }
}

/** BullMQ does not retry an error named `UnrecoverableError`. */
function unrecoverable(error: Error): Error {
  const code = codeOf(error);
  if (code !== undefined) return markedWithCode(error, code, (message) => new BullUnrecoverable(message));
  if (error.name === 'UnrecoverableError') return error;
  const wrapped = new BullUnrecoverable(error.message);
  if (error.stack !== undefined) wrapped.stack = error.stack;
  return wrapped;
}

/** A retryable failure as BullMQ records it: with its code's mark when it has one. */
function retryable(error: Error): Error {
  const code = codeOf(error);
  return code === undefined ? error : markedWithCode(error, code, (message) => new Error(message));
}

/**
 * Starts `handler`'s worker on its queue (`bullName`: native-ids.ts `nativeBullName`); resolves
 * with the function that closes it: running jobs finish, or with `force` the worker closes without
 * waiting for them (a stop whose handler ignores its signal).
 */
export async function startNativeWorker(
  deps: NativeWorkerDeps,
  bullName: string,
  handler: NativeHandler,
): Promise<(force: boolean) => Promise<void>> {
  const h: HandlerName = handler.options;
  const keyPrefix = `${deps.prefix}:${bullName}:`;
  const idPrefix = generatedIdPrefix(h);
  const worker = new Worker(bullName, (job: Job, token?: string) => run(job, token), {
    connection: deps.connection,
    prefix: deps.prefix,
    concurrency: handler.concurrency,
    lockDuration: deps.lockDurationMs,
    stalledInterval: deps.stalledIntervalMs,
    settings: {
      backoffStrategy: (attemptsMade: number, _type?: string, _error?: Error, job?: { data?: unknown }) =>
        backoffDelay(nativeBackoffOf(job?.data as NativeData | undefined), attemptsMade),
    },
    autorun: false,
  });

  /** Jobs whose attempt ended cancelled (for the `job:failed` event's state). */
  const cancelled = new WeakSet<Job>();
  /** The handler's error behind what was thrown to BullMQ (for the `job:failed` event). */
  const originals = new WeakMap<Error, Error>();

  async function run(job: Job, token: string | undefined): Promise<unknown> {
    const jobKey = keyPrefix + job.id!;
    const abort = new LazyAbort();
    deps.running.set(jobKey, abort);
    const id = publicIdWith(idPrefix, job.id!);
    if (deps.abortedEarly(jobKey)) abort.abort(new JobCancelledError(id));
    try {
      return await handler.run(new ActiveJob(recordOf(id, h, 'active', fieldsOfJob(job)), abort, job));
    } catch (error) {
      if (!(error instanceof NativeRunFailure)) throw error;
      if (error.abandoned && (abort.reason as ClusterError | undefined)?.code === ErrorCodes.SHUTDOWN) {
        // The node stops: the job goes back to wait unspent, for another node (or this one later).
        await job.moveToWait(token);
        throw new WaitingError();
      }
      if (error.cancelled) cancelled.add(job);
      // A lost lock: BullMQ's finish refuses the stale token, whatever is thrown here.
      const thrown = error.retry ? retryable(error.error) : unrecoverable(error.error);
      if (thrown !== error.error) originals.set(thrown, error.error);
      throw thrown;
    } finally {
      if (deps.running.get(jobKey) === abort) deps.running.delete(jobKey);
    }
  }

  const recordAfter =
    (job: Job, state: ManagedJobState): (() => JobRecord) =>
    () =>
      recordOf(publicIdWith(idPrefix, job.id!), h, state, fieldsOfJob(job));
  worker.on('error', (error) => deps.reportError(error, { source: 'managedQueue.native', queue: bullName }));
  worker.on('lockRenewalFailed', (ids: string[]) => {
    for (const jobId of ids) {
      deps.running
        .get(keyPrefix + jobId)
        ?.abort(
          new ClusterError(ErrorCodes.LOCK_LOST, `job ${publicIdWith(idPrefix, jobId)}: this node lost its lock`),
        );
    }
  });
  worker.on('completed', (job: Job) => {
    handler.settled(
      { willRetry: false, durationMs: (job.finishedOn ?? Date.now()) - (job.processedOn ?? 0) },
      recordAfter(job, 'completed'),
    );
  });
  worker.on('failed', (job: Job | undefined, error: Error) => {
    if (!job) return;
    const willRetry = error.name !== 'UnrecoverableError' && job.attemptsMade < (job.opts.attempts ?? 1);
    const state: ManagedJobState = willRetry
      ? job.delay > 0
        ? 'delayed'
        : 'waiting'
      : cancelled.has(job)
        ? 'cancelled'
        : 'failed';
    handler.settled(
      { error: originals.get(error) ?? error, willRetry, durationMs: Date.now() - (job.processedOn ?? Date.now()) },
      recordAfter(job, state),
    );
  });
  await worker.waitUntilReady();
  // BullMQ defined its scripts on the connection while getting ready: wrap them before the first fetch.
  wrapNativeWorkerScripts(deps.connection, deps.nodeId, deps.finishedChannel);
  void worker.run().catch((error: unknown) => deps.reportError(error, { source: 'managedQueue.native' }));
  return async (force) => {
    await worker.close(force);
  };
}
