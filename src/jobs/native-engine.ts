/**
 * The seam for a *native* managed-job engine: an adapter set whose broker can keep a managed job as
 * one of its own jobs (on Redis, the default: a BullMQ job of the handler's BullMQ queue,
 * adapters/redis/native-job-engine.ts) offers a {@link ManagedJobEngineFactory} as
 * `adapters.managedJobEngine`, and — when the app's event queue is that set's own event queue
 * ({@link ManagedJobEngineFactory.eventQueue}) — `app.managedQueue` runs enqueue, handlers, outcomes,
 * `getJob`, `waitForJob` and `cancel` through it instead of the record + ticket layer, and the
 * optional calls (operator calls, pause, job reads: {@link ManagedJobQueries}) where the engine has
 * them. Core defines the contract and runs the handler (native-runner.ts); the adapter owns storage
 * and delivery. An optional call the engine lacks throws {@link nativeNotSupported} at the call.
 */
import { ClusterError, ErrorCodes } from '../errors.js';
import type { EventQueueAdapter } from '../event-queue/types.js';
import type { JobRecord } from './envelope.js';
import type { LazyAbort } from '../lazy-abort.js';
import type { CancelResult, PromoteResult, RemoveResult, RetryResult } from './job-control.js';
import type { JobStore } from './job-store.js';
import type { NativeNoProcessorPass } from './native-no-processor.js';
import type { ProcessorOptions } from './types.js';

/** The job a native engine hands to core to run: its record as read at the start of the attempt. */
export interface NativeActiveJob {
  /** The job as a record (state `active`, attempts so far, tenant, payload, history). */
  readonly record: JobRecord;
  /**
   * Aborted by the engine when the attempt must stop: with a {@link JobCancelledError} for
   * `cancel({ abortActive })`, with `LOCK_LOST` when this node lost the job's lock, with `SHUTDOWN`
   * when the node stops. Its `AbortSignal` is made only if the handler reads `job.signal`.
   */
  readonly abort: LazyAbort;
  /** Writes the job's progress (engine-side; core emits `job:progress`). */
  progress(value: number | object): Promise<void>;
  /** Appends a (clipped) line to the job's log. */
  log(line: string): Promise<void>;
}

/** One handler as a native engine runs it: a worker of `concurrency` on this node for its jobs. */
export interface NativeHandler {
  readonly options: ProcessorOptions;
  /** Local concurrency on this node. */
  readonly concurrency: number;
  /**
   * Runs one attempt; resolves with the handler's (checked, JSON-safe) return value, or rejects with
   * its failure. A failure that must not be retried (unrecoverable, cancelled) is marked by
   * {@link NativeRunFailure.retry} `false`.
   */
  run(job: NativeActiveJob): Promise<unknown>;
  /**
   * Called by the engine once an attempt's outcome is recorded (for the `job:completed` /
   * `job:failed` events); `record` builds the job after the outcome (only called when listened to).
   */
  settled(outcome: { error?: Error; willRetry: boolean; durationMs: number }, record: () => JobRecord): void;
}

/** What {@link NativeHandler.run} rejects with: the handler's failure, classified for the engine. */
export class NativeRunFailure extends Error {
  override readonly name = 'NativeRunFailure';
  constructor(
    /** The handler's error (or the return value's serialization error). */
    readonly error: Error,
    /** False for an unrecoverable error or a cancelled attempt: the job fails (or ends cancelled) now. */
    readonly retry: boolean,
    /** The attempt was aborted by `cancel({ abortActive })`: the job ends `cancelled`. */
    readonly cancelled: boolean,
    /** Aborted because this node lost the job's lock or is stopping: the engine records no outcome. */
    readonly abandoned: boolean,
  ) {
    super(error.message);
  }
}

/** A native engine of one node (see the module comment). */
export interface ManagedJobEngine {
  /** The engine's name in errors and docs, e.g. `'native'`. */
  readonly kind: string;
  start(): Promise<void>;
  /** Stops its workers (running attempts get `graceMs` before their signal aborts) and connections. */
  stop(graceMs: number): Promise<void>;
  /** Adds a checked record's job; resolves with its public id (the existing job's, for a duplicate caller id). */
  add(record: JobRecord): Promise<string>;
  /** The job as a record (with its log lines), or null when there is none. Tenant visibility is core's. */
  get(jobId: string): Promise<{ record: JobRecord; logs: string[] } | null>;
  /** Starts a worker for `handler` on this node; resolves with the function that stops it. */
  handle(handler: NativeHandler): Promise<() => Promise<void>>;
  /** Cancels a waiting/delayed job; an active one only with `abortActive` (its handler's signal aborts). */
  cancel(jobId: string, abortActive: boolean): Promise<CancelResult>;
  /**
   * Resolves with the job's record once it is terminal (completed, failed, cancelled) — or, for a
   * job removed at its end (`removeOnComplete` / `removeOnFail`) after the wait began, with the end
   * as announced — `'removed'` when it was removed (`remove`) while this waited, null when it does
   * not exist (or is gone otherwise); rejects with `WAIT_TIMEOUT` after `timeoutMs`.
   */
  waitFinished(jobId: string, timeoutMs: number): Promise<FinishedJob | 'removed' | null>;
  /**
   * Pauses (`true`) or resumes a logical queue on every node: its waiting jobs stay queued, running
   * ones finish. Optional: without it, `pause`/`resume`/`isPaused` throw `NOT_SUPPORTED`.
   */
  setPaused?(pluginName: string, queueName: string, paused: boolean): Promise<void>;
  /** Is the logical queue paused? (Present with {@link setPaused}.) */
  isPaused?(pluginName: string, queueName: string): Promise<boolean>; /**
   * Runs a failed or cancelled job again with a fresh attempt budget (its history kept). Optional,
   * like {@link remove} and {@link promote}: without them those calls throw `NOT_SUPPORTED`.
   */
  retry?(jobId: string): Promise<RetryResult>;
  /** Deletes a job that is not running (waiters are told it no longer exists). */
  remove?(jobId: string): Promise<RemoveResult>;
  /** Runs a delayed job now. */
  promote?(jobId: string): Promise<PromoteResult>;
  /**
   * The engine's job reads (`listJobs`, `getMetrics`, `getQueueStats`, `clean`), with the job
   * store's contract for them. Optional: without it those calls throw `NOT_SUPPORTED`.
   */
  readonly queries?: ManagedJobQueries;
  /**
   * One NO_PROCESSOR pass (native-no-processor.ts; core runs it on one node at a time): fails, one
   * atomic step per job, the ready jobs of handlers no live node has had for `pass.graceMs`.
   * Resolves with how many it failed. Optional: without it such jobs wait.
   */
  failWithoutProcessor?(pass: NativeNoProcessorPass): Promise<number>;
}

/**
 * What `listJobs`, `getMetrics`, `getQueueStats` and `clean` need of a backend: the job store's
 * read-side methods, with the same semantics (core checks the filters and applies tenant
 * visibility first, see job-queries.ts): newest first by enqueue time, a due `delayed` job counted
 * and listed as `waiting`, cancelled jobs not in the counts.
 */
export type ManagedJobQueries = Pick<JobStore, 'list' | 'counts' | 'queueStats' | 'clean' | 'pausedQueues'>;

/** What core gives an engine factory. */
export interface ManagedJobEngineContext {
  readonly appName: string;
  readonly nodeId: string;
  /** Finished jobs are kept this long unless `removeOnComplete` / `removeOnFail` say otherwise. */
  readonly completedRetentionMs: number;
  readonly failedRetentionMs: number;
  reportError(error: unknown, meta?: Record<string, unknown>): void;
}

/**
 * Offered by an adapter set (`adapters.managedJobEngine`) whose broker keeps managed jobs natively
 * (on Redis unless `managedJobs: { engine: 'records' }`): makes the engine of one node.
 */
export interface ManagedJobEngineFactory {
  (context: ManagedJobEngineContext): ManagedJobEngine;
  /**
   * The event-queue adapter of the same adapter set. The engine carries managed jobs on that
   * broker's own queues, so an app uses it only when its `adapters.eventQueue` is this very adapter
   * (the pairing rule, src/app.ts); in a mixed set (say Redis with RabbitMQ's event queue) managed
   * jobs stay on the record engine: records in the job store, tickets on the app's event queue.
   */
  readonly eventQueue: EventQueueAdapter;
}

/**
 * The engine of `adapters.managedJobEngine` when it pairs with `adapters.eventQueue` (the same
 * adapter set's event queue, {@link ManagedJobEngineFactory.eventQueue}); undefined otherwise, and
 * the app's managed jobs then run on the record engine.
 */
export function pairedJobEngine(adapters: {
  readonly eventQueue?: EventQueueAdapter;
  readonly managedJobEngine?: ManagedJobEngineFactory;
}): ManagedJobEngineFactory | undefined {
  const engine = adapters.managedJobEngine;
  if (engine === undefined || adapters.eventQueue === undefined) return undefined;
  return engine.eventQueue === adapters.eventQueue ? engine : undefined;
}

/**
 * The error of a managed-queue call a native engine does not support: `NOT_SUPPORTED` with
 * `details: { feature, engine }`.
 */
export function nativeNotSupported(feature: string, engine = 'native'): ClusterError {
  return new ClusterError(
    ErrorCodes.NOT_SUPPORTED,
    `managedQueue.${feature}: not supported by the "${engine}" managed-job engine (the record engine has it: managedJobs: { engine: 'records' })`,
    { details: { feature, engine } },
  );
}

/**
 * How a waited-for job ended (`ManagedJobEngine.waitFinished`): its record, or only the end's
 * outcome when the job was removed at its end.
 */
export type FinishedJob = Pick<JobRecord, 'state' | 'returnValue' | 'failedReason' | 'failedCode' | 'stacktrace'>;
