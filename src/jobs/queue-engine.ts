/**
 * The engine behind `app.managedQueue`'s calls (internal): the record + ticket layer
 * (record-jobs.ts) or a native engine (native-queue.ts). `ManagedQueue` owns the parts both share
 * (job store, processor registry, job events, schedules), checks a call's arguments and its started
 * state where both engines do, and hands the call to its one engine.
 */
import type { ManagerContext } from '../context.js';
import { ClusterError, ErrorCodes } from '../errors.js';
import type { JobRecord } from './envelope.js';
import type { CancelResult, PromoteResult, RemoveResult, RetryResult } from './job-control.js';
import type { JobEvents } from './job-events.js';
import type { JobStore } from './job-store.js';
import type { ManagedJobQueries } from './native-engine.js';
import type { ResolvedManagedQueueOptions } from './options.js';
import type { ProcessorRegistry } from './processor-registry.js';
import type { Registration } from './registration.js';
import type { LogicalQueue, ManagedJobInfo, ManagedQueueEvents } from './types.js';

/** What `ManagedQueue` gives the engine it builds: its shared parts and settings. */
export interface QueueEngineParts {
  readonly context: ManagerContext;
  readonly options: ResolvedManagedQueueOptions;
  /** The bare event-queue channel of the physical queue. */
  readonly physicalChannel: string;
  readonly store: JobStore;
  readonly registry: ProcessorRegistry;
  readonly events: JobEvents;
  /** Has `start()` completed (and no `stop()` begun)? */
  started(): boolean;
  emit<K extends keyof ManagedQueueEvents>(event: K, ...args: ManagedQueueEvents[K]): void;
  listens(event: keyof ManagedQueueEvents): boolean;
}

/** The calls of one engine (see the module comment); `jobId`s and queues come checked where noted. */
export interface QueueEngine {
  /** Called first by `start()`, before the shared parts start (a stopped node takes work again). */
  resume(): void;
  /** `cancel({ abortActive })` reached this node through job events: abort the job if it runs here. */
  abort(jobId: string): void;
  /** Starts the engine's side, after the job store, heartbeats and job events. */
  start(): Promise<void>;
  /** Stops the engine's side (running jobs get `graceMs`), after schedules; reports its errors. */
  stop(graceMs: number, report: (error: unknown) => void): Promise<void>;
  /** A checked record (and checked `transaction`): adds its job, after `start()`. */
  enqueue(record: JobRecord, transaction?: object): Promise<{ jobId: string }>;
  /** A schedule tick's checked record (a failed publish keeps a pending record). */
  enqueueTick(record: JobRecord): Promise<void>;
  /** The job with its log, or null when it does not exist or is another tenant's. */
  getJob(jobId: string): Promise<ManagedJobInfo | null>;
  getJobLogs(jobId: string): Promise<string[] | null>;
  /** Checks its options itself. */
  cancel(options: { jobId: string; abortActive?: boolean }): Promise<CancelResult>;
  /** `retry`, `remove`, `promote`: check the id and (where the engine needs it) the started state. */
  retry(jobId: string): Promise<RetryResult>;
  remove(jobId: string): Promise<RemoveResult>;
  promote(jobId: string): Promise<PromoteResult>;
  /** A checked id and duration. */
  waitForJob(jobId: string, timeoutMs: number): Promise<unknown>;
  /** Where job reads go (throws `NOT_SUPPORTED` for `feature` when the engine has none). */
  queries(feature: string): ManagedJobQueries;
  /** Pauses or resumes a checked logical queue on every node. */
  setPaused(queue: LogicalQueue, paused: boolean, feature: string): Promise<void>;
  isPaused(queue: LogicalQueue): Promise<boolean>;
  /** Handlers were added to the registry. */
  added(registrations: readonly Registration[]): Promise<void>;
  /** Handlers were removed from the registry (their running jobs finish). */
  dropped(registrations: readonly Registration[]): Promise<void>;
}

/** The `NOT_CONNECTED` error of a call made before `start()`. */
export function notStarted(call: string): ClusterError {
  return new ClusterError(ErrorCodes.NOT_CONNECTED, `managedQueue.${call}: not started (call app.start() first)`);
}
