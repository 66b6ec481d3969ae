/**
 * `app.managedQueue`: plugins enqueue logical jobs and declare handlers; the platform owns the one
 * physical queue they all travel on, workers, retries, delays, cancellation and tenant context.
 * Built only on the managers' public APIs (event queue, lock manager, pub/sub, cache store), so it
 * works on whatever adapters the app has. This class wires the parts both engines share (job store,
 * handlers, job events, schedules), checks each call and hands it to its engine (queue-engine.ts):
 * the record + ticket layer (record-jobs.ts) or a native one (native-queue.ts).
 */
import type { CacheManager } from '../cache/cache-manager.js';
import type { ManagerContext } from '../context.js';
import { appScopedName } from '../names.js';
import type { EventQueueManager } from '../event-queue/event-queue-manager.js';
import type { LockManager } from '../lock/lock-manager.js';
import type { PubSubManager } from '../pub-sub/pub-sub-manager.js';
import { captureTraceContext } from '../tracing.js';
import { assertDuration, assertFunction, assertName, assertOptions } from '../validation.js';
import type { JobRecord } from './envelope.js';
import { recordFromInput } from './enqueue-input.js';
import type { CancelResult, PromoteResult, RemoveResult, RetryResult } from './job-control.js';
import { JobEvents } from './job-events.js';
import { cleanJobs, getMetrics, getQueueStats, listJobs, type CleanOptions } from './job-queries.js';
import type { ManagedJobEngineFactory } from './native-engine.js';
import { NativeManagedJobs } from './native-queue.js';
import type { JobStore, JobStoreFactory } from './job-store.js';
import type { NodeInfo } from './node-list.js';
import { portableJobStoreOver } from './portable-job-store.js';
import { resolveManagedQueueOptions, type ManagedQueueOptions, type ResolvedManagedQueueOptions } from './options.js';
import { checkProcessorOptions } from './plugin-job-processor.js';
import { ProcessorRegistry } from './processor-registry.js';
import { notStarted, type QueueEngine, type QueueEngineParts } from './queue-engine.js';
import { RecordJobs } from './record-jobs.js';
import { Scheduler } from './schedules.js';
import { escapeKeyPart } from './scoped-key.js';
import { ScopedState } from './scoped-state.js';
import { checkTransaction } from './transaction-option.js';
import type {
  EnqueueInput,
  EnqueueOptions,
  JobCounts,
  ListJobsFilter,
  LogicalQueue,
  ManagedJobHandler,
  ManagedJobInfo,
  ManagedQueueEvents,
  MetricsFilter,
  ProcessorOptions,
  QueueStats,
  ScheduleInfo,
  ScheduleInput,
} from './types.js';

/** The managers a {@link ManagedQueue} is built on (an app's). */
export interface ManagedQueueDeps {
  readonly eventQueue: EventQueueManager;
  readonly lockManager: LockManager;
  readonly pubSubManager: PubSubManager;
  readonly cacheManager: CacheManager;
  readonly context: ManagerContext;
  /** The adapter set's job store factory; default: a portable store over the app's cache store. */
  readonly jobStore?: JobStoreFactory;
  /** How long `stop()` lets running jobs finish before aborting them, in ms. @default 10000 */
  readonly stopGracePeriodMs?: number;
  /**
   * A native managed-job engine (on Redis the default, paired with the app's event queue by
   * `createApp`): jobs become the broker's own jobs, see native-engine.ts. Without it: the record +
   * ticket layer.
   */
  readonly managedJobEngine?: ManagedJobEngineFactory;
}

/** The managed plugin-job layer of one node. */
export class ManagedQueue extends ScopedState<ManagedQueueEvents> {
  /** `<app>:<channel>` (both escaped, see src/names.ts): the one physical event-queue queue every logical job travels on. */
  readonly physicalQueueName: string;
  /**
   * The bare event-queue channel of the physical queue (`physicalQueueName` without the `<app>:`
   * prefix): what `eventQueue.counts()`, `listDeadLetters()` and `redrive()` take.
   * @default 'managed-queue:plugin-jobs'
   */
  readonly physicalChannel: string;
  /**
   * The job store (see job-store.ts for the contract): records, schedules, paused flags. For platform
   * tools (dashboards, migrations) and store implementers; plugins use the methods of this class.
   */
  readonly jobStore: JobStore;
  private readonly options: ResolvedManagedQueueOptions;
  private readonly registry: ProcessorRegistry;
  private readonly events: JobEvents;
  private readonly scheduler: Scheduler;
  /** The engine behind the calls: a native one when the adapter set offers it, else the record + ticket layer. */
  private readonly jobs: QueueEngine;
  private started = false;

  constructor(
    private readonly deps: ManagedQueueDeps,
    options: ManagedQueueOptions = {},
  ) {
    super(deps.context.appName, () => deps.cacheManager.store);
    this.options = resolveManagedQueueOptions(options);
    this.physicalChannel = this.options.physicalQueue;
    this.physicalQueueName = appScopedName(deps.context.appName, this.physicalChannel);
    const report = (source: string) => (error: unknown) => deps.context.reportError(error, { source });
    const appName = deps.context.appName;
    this.jobStore = (deps.jobStore ?? portableJobStoreOver(() => deps.cacheManager.store, deps.lockManager))({
      appName,
    });
    this.registry = new ProcessorRegistry(
      () => deps.cacheManager.store,
      `${escapeKeyPart(appName)}:managed-queue:`,
      deps.context.nodeId,
      this.options.heartbeatTtlMs,
      this.options.worker,
      report('managedQueue.heartbeat'),
      this.options.workerConcurrency,
    );
    this.events = new JobEvents(
      deps.pubSubManager,
      `${this.options.physicalQueue}:events`,
      (jobId) => this.jobs.abort(jobId),
      report('managedQueue.events'),
    );
    this.scheduler = new Scheduler(
      this.jobStore,
      async (input) => this.jobs.enqueueTick(this.newRecord(input)),
      this.options.scheduleRefreshMs,
      report('managedQueue.schedules'),
    );
    const parts: QueueEngineParts = {
      context: deps.context,
      options: this.options,
      physicalChannel: this.physicalChannel,
      store: this.jobStore,
      registry: this.registry,
      events: this.events,
      started: () => this.started,
      emit: (event, ...args) => (this.emit as (e: string, ...a: unknown[]) => boolean)(event, ...args),
      listens: (event) => this.listenerCount(event) > 0,
    };
    this.jobs = deps.managedJobEngine
      ? NativeManagedJobs.over(deps.managedJobEngine, parts, deps.lockManager)
      : new RecordJobs(parts, deps.eventQueue, deps.lockManager);
  }

  /**
   * Starts heartbeats, job events, schedules and the engine: on the record + ticket layer the
   * reconciler, and the physical consumer (unless `worker: false`) when handlers are already
   * registered; a native engine with its handlers' workers. Called by `app.start()`.
   */
  async start(): Promise<void> {
    if (this.started) return;
    this.jobs.resume();
    try {
      await this.jobStore.connect();
      await this.registry.start();
      await this.events.start();
      await this.jobs.start();
    } catch (error) {
      await this.halt();
      throw error;
    }
    this.started = true;
    // Schedules are the job store's on both engines; a tick's job is the engine's (see enqueueTick).
    if (this.options.schedules) this.scheduler.start();
  }

  /**
   * Stops schedules and the engine — on the record + ticket layer the reconciler, parked jobs handed
   * back, running jobs let finish (aborted after the grace period; a job aborted by the stop goes back
   * unspent) — then heartbeats and job events. Called by `app.stop()`, alongside the event queue's own drain.
   */
  async stop(): Promise<void> {
    if (!this.started) return;
    this.started = false;
    const report = (error: unknown) => this.deps.context.reportError(error, { source: 'managedQueue.stop' });
    // No tick may reach the engine once it stops.
    await this.scheduler.stop().catch(report);
    await this.jobs.stop(this.deps.stopGracePeriodMs ?? 10_000, report);
    await this.halt();
  }

  /** Stops the timers and the job-event subscription (each part is safe to stop when not started). */
  private async halt(): Promise<void> {
    const report = (error: unknown) => this.deps.context.reportError(error, { source: 'managedQueue.stop' });
    await this.scheduler.stop().catch(report);
    await this.registry.stop().catch(report);
    await this.events.stop().catch(report);
    await this.jobStore.close().catch(report);
  }

  /**
   * Enqueues a logical job on the physical queue and returns its id. With `transaction`, the job is
   * written when it commits (or, on a store that supports transactions, inside it). Inside an
   * OpenTelemetry span, the record keeps the caller's trace context for every attempt's span.
   */
  async enqueue<T = unknown>(input: EnqueueInput<T>, options?: EnqueueOptions): Promise<{ jobId: string }> {
    const { transaction } = assertOptions('managedQueue.enqueue', options, ['transaction']);
    const checked = checkTransaction(this.jobStore, transaction);
    const record = this.newRecord(input);
    // Captured now, at the call (not at commit), so the job belongs to the caller's trace.
    const trace = captureTraceContext();
    if (trace !== undefined) record.trace = trace;
    this.assertStarted('enqueue');
    // `return await`: one microtask fewer than returning the promise from an async function.
    return await this.jobs.enqueue(record, checked);
  }

  /** The job, or null when it does not exist or belongs to another tenant than the current one. */
  async getJob(jobId: string): Promise<ManagedJobInfo | null> {
    assertName('jobId', jobId);
    return this.jobs.getJob(jobId);
  }

  /** The job's handler log lines (`job.log`), oldest first; null when the job is not visible. */
  async getJobLogs(jobId: string): Promise<string[] | null> {
    assertName('jobId', jobId);
    return this.jobs.getJobLogs(jobId);
  }

  /**
   * Cancels a waiting or delayed job (`{ success: true }`); an active one only with `abortActive`,
   * which aborts its signal on the node running it. See job-control.ts.
   */
  cancel(options: { jobId: string; abortActive?: boolean }): Promise<CancelResult> {
    return this.jobs.cancel(options);
  }

  /** Runs a failed or cancelled job again with a fresh attempt budget. */
  async retry(jobId: string): Promise<RetryResult> {
    return this.jobs.retry(jobId);
  }

  /** Deletes a job that is not running: a finished one, or a waiting/delayed one before any node starts it. */
  async remove(jobId: string): Promise<RemoveResult> {
    return this.jobs.remove(jobId);
  }

  /** Runs a delayed job now (its attempts so far are kept); `reason` names its state when it is not delayed. */
  async promote(jobId: string): Promise<PromoteResult> {
    return this.jobs.promote(jobId);
  }

  /** The cluster's live nodes (from their heartbeats): whether each takes jobs, and which handlers it runs. */
  listNodes(): Promise<NodeInfo[]> {
    return this.registry.listNodes();
  }

  /** Resolves with the job's return value once it completes (on any node); rejects with its failure or on timeout. */
  async waitForJob(jobId: string, options: { timeoutMs: number }): Promise<unknown> {
    assertName('jobId', jobId);
    const { timeoutMs } = assertOptions('managedQueue.waitForJob', options, ['timeoutMs']);
    return this.jobs.waitForJob(jobId, assertDuration('timeoutMs', timeoutMs));
  }

  /** Jobs by state with paging, newest first (tenant-scoped inside `runWithTenant`). */
  async listJobs(filter?: ListJobsFilter): Promise<{ jobs: ManagedJobInfo[]; total: number }> {
    return listJobs(this.jobs.queries('listJobs'), filter);
  }

  /** Counts by state (tenant-scoped inside `runWithTenant`). */
  async getMetrics(filter?: MetricsFilter): Promise<JobCounts> {
    return getMetrics(this.jobs.queries('getMetrics'), filter);
  }

  /** Counts per plugin/queue/tenant, with the logical queue's paused flag. */
  async getQueueStats(): Promise<QueueStats[]> {
    return getQueueStats(this.jobs.queries('getQueueStats'));
  }

  /** Deletes finished jobs older than `olderThanMs`; returns how many. */
  async clean(options: CleanOptions): Promise<number> {
    return cleanJobs(this.jobs.queries('clean'), options);
  }

  /** Stops starting jobs of a logical queue on every node (running ones finish; new ones wait). */
  async pause(queue: LogicalQueue): Promise<void> {
    await this.jobs.setPaused(logicalQueue('pause', queue), true, 'pause');
  }

  /** Undoes {@link pause}; waiting jobs start again within `pausedRecheckMs`. */
  async resume(queue: LogicalQueue): Promise<void> {
    await this.jobs.setPaused(logicalQueue('resume', queue), false, 'resume');
  }

  async isPaused(queue: LogicalQueue): Promise<boolean> {
    return this.jobs.isPaused(logicalQueue('isPaused', queue));
  }

  /** Adds (or replaces, same id) a repeating job; one run per tick across the cluster. */
  async schedule<T = unknown>(input: ScheduleInput<T>): Promise<{ scheduleId: string }> {
    return this.scheduler.add(input, (probe) => this.newRecord(probe));
  }

  /** Schedules (only the current tenant's inside `runWithTenant`). */
  async listSchedules(): Promise<ScheduleInfo[]> {
    return this.scheduler.list();
  }

  /** Removes a schedule; false when there was none (or it is another tenant's). */
  async removeSchedule(scheduleId: string): Promise<boolean> {
    return this.scheduler.remove(scheduleId);
  }

  /** Registers a handler for one plugin/queue/job; returns the function that unregisters it. */
  async process<T = any>(options: ProcessorOptions, handler: ManagedJobHandler<T>): Promise<() => Promise<void>> {
    const checked = checkProcessorOptions('managedQueue.process', options);
    assertFunction('handler', handler);
    const registration = this.registry.add(checked, handler as ManagedJobHandler);
    await this.jobs.added([registration]);
    if (this.started) await this.registry.beat();
    return async () => {
      if (this.registry.remove(registration)) await this.jobs.dropped([registration]);
    };
  }

  /** Registers every `@PluginJobProcessor` declaration of `instance`'s class (calls its `handle`, else `process`). */
  async registerProcessor(instance: object): Promise<void> {
    this.registry.addInstance(instance);
    await this.jobs.added(this.registry.registrationsOf(instance));
    if (this.started) await this.registry.beat();
  }

  /** Unregisters a processor instance (its running jobs finish). */
  async unregisterProcessor(instance: object): Promise<void> {
    const registrations = this.registry.registrationsOf(instance);
    this.registry.removeInstance(instance);
    await this.jobs.dropped(registrations);
  }

  /** A checked record of `input` with this queue's defaults. */
  private newRecord(input: EnqueueInput): JobRecord {
    return recordFromInput(input, {
      attempts: this.options.defaultAttempts,
      maxPayloadBytes: this.deps.context.maxPayloadBytes,
    });
  }

  private assertStarted(call: string): void {
    if (!this.started) throw notStarted(call);
  }
}

function logicalQueue(call: string, queue: LogicalQueue): LogicalQueue {
  const q = assertOptions(`managedQueue.${call}`, queue, ['pluginName', 'queueName']);
  return { pluginName: assertName('pluginName', q.pluginName), queueName: assertName('queueName', q.queueName) };
}
