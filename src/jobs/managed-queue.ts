/**
 * `app.managedQueue`: plugins enqueue logical jobs and declare handlers; the platform owns the one
 * physical queue they all travel on, workers, retries, delays, cancellation and tenant context.
 * Built only on the managers' public APIs (event queue, lock manager, pub/sub, cache store), so it
 * works on whatever adapters the app has. How a ticket is routed: dispatcher.ts; how a job runs:
 * job-runner.ts; the record/ticket model: envelope.ts.
 */
import type { CacheManager } from '../cache/cache-manager.js';
import type { ManagerContext } from '../context.js';
import { ClusterError, ErrorCodes } from '../errors.js';
import { appScopedName } from '../names.js';
import type { EventQueueManager } from '../event-queue/event-queue-manager.js';
import type { LockManager } from '../lock/lock-manager.js';
import type { PubSubManager } from '../pub-sub/pub-sub-manager.js';
import { captureTraceContext } from '../tracing.js';
import { assertDuration, assertFunction, assertName, assertOptions, describe } from '../validation.js';
import { Dispatcher } from './dispatcher.js';
import { toJobInfo } from './envelope.js';
import { recordFromInput } from './enqueue-input.js';
import {
  cancelJob,
  promoteJob,
  removeJob,
  retryJob,
  type CancelResult,
  type ControlDeps,
  type PromoteResult,
  type RemoveResult,
  type RetryResult,
} from './job-control.js';
import { JobEvents } from './job-events.js';
import { cleanJobs, getMetrics, getQueueStats, listJobs, visibleToCaller, type CleanOptions } from './job-queries.js';
import { JobRunner } from './job-runner.js';
import { nativeNotSupported, type ManagedJobEngineFactory, type ManagedJobQueries } from './native-engine.js';
import { NativeManagedJobs } from './native-queue.js';
import type { JobStore, JobStoreFactory } from './job-store.js';
import { inStoreTransaction, JobWriter } from './job-writer.js';
import type { NodeInfo } from './node-list.js';
import { portableJobStoreOver } from './portable-job-store.js';
import { Reconciler } from './reconciler.js';
import { resolveManagedQueueOptions, type ManagedQueueOptions, type ResolvedManagedQueueOptions } from './options.js';
import { checkProcessorOptions } from './plugin-job-processor.js';
import { ProcessorRegistry } from './processor-registry.js';
import { Scheduler } from './schedules.js';
import { escapeKeyPart, handlerKey, logicalQueueKey } from './scoped-key.js';
import { ScopedState } from './scoped-state.js';
import { createTicketPreparer, createTicketPublisher } from './ticket-publisher.js';
import { waitForJob } from './wait-for-job.js';
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

/** One park in flight per this many physical slots (see park-gate.ts). */
const PARK_SHARE = 4;

/** How long a stopping node waits for a handler that ignores its aborted signal, beyond the grace period. */
const ABANDON_AFTER_MS = 1_000;

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
  private readonly runner: JobRunner;
  private readonly dispatcher: Dispatcher;
  private readonly events: JobEvents;
  private readonly scheduler: Scheduler;
  private readonly reconciler: Reconciler;
  private readonly control: ControlDeps;
  private readonly writer: JobWriter;
  /** The native engine's side, when the adapter set offers one (then unsupported calls throw `NOT_SUPPORTED`). */
  private readonly native: NativeManagedJobs | undefined;
  private started = false;
  /** The physical consumer's subscription, made on the first use of managed jobs (see {@link useWorker}). */
  private worker: Promise<void> | undefined;

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
    const store = this.jobStore;
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
      (jobId) => this.runner.abort(jobId),
      report('managedQueue.events'),
    );
    const publishTicket = createTicketPublisher(deps.eventQueue, this.options.physicalQueue);
    this.writer = new JobWriter(
      () => store,
      publishTicket,
      deps.context.reportError,
      () => deps.eventQueue.capabilities.transactional === true,
      createTicketPreparer(deps.eventQueue, this.options.physicalQueue),
    );
    const publishRecord = this.writer.publishRecord;
    this.runner = new JobRunner({
      store,
      events: this.events,
      nodeId: deps.context.nodeId,
      physicalChannel: this.physicalChannel,
      maxPayloadBytes: deps.context.maxPayloadBytes,
      completedRetentionMs: this.options.completedRetentionMs,
      failedRetentionMs: this.options.failedRetentionMs,
      emit: (event, ...args) => (this.emit as (e: string, ...a: unknown[]) => boolean)(event, ...args),
      listens: (event) => this.listenerCount(event) > 0,
      publishRecord: (record, delayMs) => publishRecord(record, delayMs),
      reportError: deps.context.reportError,
    });
    this.dispatcher = new Dispatcher({
      store,
      registry: this.registry,
      runner: this.runner,
      nodeId: deps.context.nodeId,
      processorGraceMs: this.options.processorGraceMs,
      handBackDelayMs: this.options.handBackDelayMs,
      pausedRecheckMs: this.options.pausedRecheckMs,
      publishTicket,
      // A quarter of the physical slots may be parking at once; tickets waiting for a turn are held (park-gate.ts).
      parksInFlight: Math.ceil(this.options.workerConcurrency / PARK_SHARE),
      reportError: deps.context.reportError,
    });
    this.control = {
      store,
      events: this.events,
      failedRetentionMs: this.options.failedRetentionMs,
      publishRecord: (record, delayMs) => publishRecord(record, delayMs),
    };
    this.scheduler = new Scheduler(
      store,
      (input) => this.enqueueTick(input),
      this.options.scheduleRefreshMs,
      report('managedQueue.schedules'),
    );
    this.native = deps.managedJobEngine
      ? new NativeManagedJobs(
          deps.managedJobEngine({
            appName,
            nodeId: deps.context.nodeId,
            completedRetentionMs: this.options.completedRetentionMs,
            failedRetentionMs: this.options.failedRetentionMs,
            reportError: deps.context.reportError,
          }),
          {
            maxPayloadBytes: deps.context.maxPayloadBytes,
            channel: this.physicalChannel,
            worker: this.options.worker,
            emit: (event, ...args) => (this.emit as (e: string, ...a: unknown[]) => boolean)(event, ...args),
            listens: (event) => this.listenerCount(event) > 0,
            reportError: (error, meta) => deps.context.reportError(error, { source: 'managedQueue.native', ...meta }),
            noProcessor: {
              locks: deps.lockManager,
              graceMs: this.options.processorGraceMs,
              aliveAnywhere: (p, q, j) => this.registry.aliveAnywhere(handlerKey(p, q, j)),
            },
          },
        )
      : undefined;
    this.reconciler = new Reconciler({
      store,
      locks: deps.lockManager,
      ticketRepairMs: this.options.ticketRepairMs,
      nodeAlive: (nodeId) => this.registry.nodeAlive(nodeId),
      publishRecord: (record, delayMs) => publishRecord(record, delayMs),
      onError: report('managedQueue.reconciler'),
    });
  }

  /**
   * Starts heartbeats, job events, schedules and the reconciler; the physical consumer too (unless
   * `worker: false`) when handlers are already registered. Called by `app.start()`.
   */
  async start(): Promise<void> {
    if (this.started) return;
    this.dispatcher.resume();
    try {
      await this.jobStore.connect();
      await this.registry.start();
      await this.events.start();
      if (this.native) await this.native.start(this.registry.all());
      else if (this.registry.size > 0) await this.subscribeWorker();
    } catch (error) {
      await this.halt();
      throw error;
    }
    this.started = true;
    // Schedules are the job store's on both engines; a tick's job is the engine's (see enqueueTick).
    if (this.options.schedules) this.scheduler.start();
    if (this.native) return;
    this.reconciler.start();
  }

  /**
   * Consumes the physical queue on this node from the first use of managed jobs on: a handler
   * registered, a job enqueued or retried here. An app that never uses managed jobs declares and
   * consumes nothing for them (on RabbitMQ: no quorum queue, no dead-letter queue).
   */
  private async useWorker(): Promise<void> {
    if (this.started) await this.subscribeWorker();
  }

  private subscribeWorker(): Promise<void> {
    if (!this.options.worker) return Promise.resolve();
    this.worker ??= this.deps.eventQueue
      .subscribe(this.options.physicalQueue, {
        process: this.dispatcher.deliver,
        concurrency: this.options.workerConcurrency,
        // Tickets only fail on store/broker trouble (job attempts are counted on the record): retry patiently.
        maxRetries: 1_000,
        backoff: { type: 'exponential', delay: 200, maxDelay: 10_000 },
      })
      .catch((error: unknown) => {
        this.worker = undefined;
        throw error;
      });
    return this.worker;
  }

  /**
   * Stops schedules and the reconciler, hands parked jobs back, lets running jobs finish (aborting
   * them after the grace period; a job aborted by the stop goes back unspent), then stops heartbeats
   * and job events. Called by `app.stop()`, alongside the event queue's own drain.
   */
  async stop(): Promise<void> {
    if (!this.started) return;
    this.started = false;
    const report = (error: unknown) => this.deps.context.reportError(error, { source: 'managedQueue.stop' });
    if (this.native) {
      // No tick may reach the engine once it stops.
      await this.scheduler.stop().catch(report);
      await this.native.stop(this.deps.stopGracePeriodMs ?? 10_000).catch(report);
      await this.halt();
      return;
    }
    await this.scheduler.stop().catch(report);
    await this.reconciler.stop().catch(report);
    await this.dispatcher.unparkAll().catch(report);
    const grace = this.deps.stopGracePeriodMs ?? 10_000;
    const abort = setTimeout(() => this.runner.abortAll(shutdownReason()), grace);
    let abandon: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        Promise.all([this.runner.idle(), this.dispatcher.drain()]),
        new Promise((resolve) => (abandon = setTimeout(resolve, grace + Math.max(grace, ABANDON_AFTER_MS)))),
      ]);
    } finally {
      clearTimeout(abort);
      clearTimeout(abandon);
    }
    await this.halt();
  }

  /** Stops the timers and the job-event subscription (each part is safe to stop when not started). */
  private async halt(): Promise<void> {
    const report = (error: unknown) => this.deps.context.reportError(error, { source: 'managedQueue.stop' });
    await this.scheduler.stop().catch(report);
    await this.reconciler.stop().catch(report);
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
    if (transaction !== undefined && (typeof transaction !== 'object' || transaction === null)) {
      throw new ClusterError(
        ErrorCodes.INVALID_OPTION,
        `transaction must be an object (with afterCommit(callback), or the job store's transaction), got ${describe(transaction)}`,
      );
    }
    if (
      transaction !== undefined &&
      !inStoreTransaction(this.jobStore, transaction) &&
      typeof (transaction as { afterCommit?: unknown }).afterCommit !== 'function'
    ) {
      // A database client or transaction the store cannot write in: the feature is missing here.
      if (looksLikeDatabaseTransaction(transaction)) {
        throw new ClusterError(
          ErrorCodes.NOT_SUPPORTED,
          `managedQueue.enqueue: the "${this.jobStore.kind}" job store cannot write inside a database transaction (use the PostgreSQL adapters, or pass a transaction with afterCommit(callback))`,
          { details: { feature: 'transaction' } },
        );
      }
      throw new ClusterError(
        ErrorCodes.INVALID_OPTION,
        `transaction must have an afterCommit(callback) method (the "${this.jobStore.kind}" job store cannot write inside a transaction), got ${describe(transaction)}`,
      );
    }
    const record = recordFromInput(input, {
      attempts: this.options.defaultAttempts,
      maxPayloadBytes: this.deps.context.maxPayloadBytes,
    });
    // Captured now, at the call (not at commit), so the job belongs to the caller's trace.
    const trace = captureTraceContext();
    if (trace !== undefined) record.trace = trace;
    this.assertStarted('enqueue');
    // `return await`: one microtask fewer than returning the promise from an async function.
    if (this.native) return await this.native.enqueue(record, transaction);
    // First use of managed jobs on this node: consume (and so declare) the physical queue first.
    await this.useWorker();
    record.ticketPendingSince = record.enqueuedAt;
    await this.writer.write(record, transaction as EnqueueOptions['transaction']);
    return { jobId: record.id };
  }

  /**
   * A schedule tick's enqueue: like `enqueue`, but a failed publish keeps the (pending) record. On a
   * native engine the tick's job is one atomic add (deduplicated by its id), so there is nothing to keep.
   */
  private async enqueueTick(input: EnqueueInput): Promise<void> {
    const record = recordFromInput(input, {
      attempts: this.options.defaultAttempts,
      maxPayloadBytes: this.deps.context.maxPayloadBytes,
    });
    if (this.native) {
      await this.native.enqueue(record);
      return;
    }
    record.ticketPendingSince = record.enqueuedAt;
    await this.writer.write(record, undefined, { keepOnPublishFailure: true });
  }

  /** The job, or null when it does not exist or belongs to another tenant than the current one. */
  async getJob(jobId: string): Promise<ManagedJobInfo | null> {
    if (this.native) return this.native.getJob(jobId);
    assertName('jobId', jobId);
    const record = await this.jobStore.get(jobId);
    if (!record || !visibleToCaller(record)) return null;
    return { ...toJobInfo(record), logs: await this.jobStore.getLogs(jobId) };
  }

  /** The job's handler log lines (`job.log`), oldest first; null when the job is not visible. */
  async getJobLogs(jobId: string): Promise<string[] | null> {
    if (this.native) return this.native.getJobLogs(jobId);
    assertName('jobId', jobId);
    const record = await this.jobStore.get(jobId);
    if (!record || !visibleToCaller(record)) return null;
    return this.jobStore.getLogs(jobId);
  }

  /**
   * Cancels a waiting or delayed job (`{ success: true }`); an active one only with `abortActive`,
   * which aborts its signal on the node running it. See job-control.ts.
   */
  cancel(options: { jobId: string; abortActive?: boolean }): Promise<CancelResult> {
    if (this.native) return this.native.cancel(options);
    return cancelJob(this.control, options);
  }

  /** Runs a failed or cancelled job again with a fresh attempt budget. */
  async retry(jobId: string): Promise<RetryResult> {
    if (this.native?.engine.retry) {
      const engine = this.native.engine;
      return this.native.operate(jobId, (id) => engine.retry!(id));
    }
    this.unsupported('retry');
    this.assertStarted('retry');
    const result = await retryJob(this.control, jobId);
    // Only a job sent again uses the worker (an unknown id must not start one).
    if (result.success) await this.useWorker();
    return result;
  }

  /** Deletes a job that is not running: a finished one, or a waiting/delayed one before any node starts it. */
  async remove(jobId: string): Promise<RemoveResult> {
    if (this.native?.engine.remove) {
      const engine = this.native.engine;
      return this.native.operate(jobId, (id) => engine.remove!(id));
    }
    this.unsupported('remove');
    this.assertStarted('remove');
    return removeJob(this.control, jobId);
  }

  /** Runs a delayed job now (its attempts so far are kept); `reason` names its state when it is not delayed. */
  async promote(jobId: string): Promise<PromoteResult> {
    if (this.native?.engine.promote) {
      const engine = this.native.engine;
      return this.native.operate(jobId, (id) => engine.promote!(id));
    }
    this.unsupported('promote');
    this.assertStarted('promote');
    const result = await promoteJob(this.control, jobId);
    if (result.success) await this.useWorker();
    return result;
  }

  /** The cluster's live nodes (from their heartbeats): whether each takes jobs, and which handlers it runs. */
  listNodes(): Promise<NodeInfo[]> {
    return this.registry.listNodes();
  }

  /** Resolves with the job's return value once it completes (on any node); rejects with its failure or on timeout. */
  async waitForJob(jobId: string, options: { timeoutMs: number }): Promise<unknown> {
    assertName('jobId', jobId);
    const { timeoutMs } = assertOptions('managedQueue.waitForJob', options, ['timeoutMs']);
    if (this.native) return this.native.waitForJob(jobId, assertDuration('timeoutMs', timeoutMs));
    return waitForJob(this.jobStore, this.events, jobId, assertDuration('timeoutMs', timeoutMs));
  }

  /** Jobs by state with paging, newest first (tenant-scoped inside `runWithTenant`). */
  async listJobs(filter?: ListJobsFilter): Promise<{ jobs: ManagedJobInfo[]; total: number }> {
    return listJobs(this.queries('listJobs'), filter);
  }

  /** Counts by state (tenant-scoped inside `runWithTenant`). */
  async getMetrics(filter?: MetricsFilter): Promise<JobCounts> {
    return getMetrics(this.queries('getMetrics'), filter);
  }

  /** Counts per plugin/queue/tenant, with the logical queue's paused flag. */
  async getQueueStats(): Promise<QueueStats[]> {
    return getQueueStats(this.queries('getQueueStats'));
  }

  /** Deletes finished jobs older than `olderThanMs`; returns how many. */
  async clean(options: CleanOptions): Promise<number> {
    return cleanJobs(this.queries('clean'), options);
  }

  /** Stops starting jobs of a logical queue on every node (running ones finish; new ones wait). */
  async pause(queue: LogicalQueue): Promise<void> {
    const q = logicalQueue('pause', queue);
    if (this.native?.engine.setPaused) {
      await this.native.engine.setPaused(q.pluginName, q.queueName, true);
      return;
    }
    this.unsupported('pause');
    await this.jobStore.setPaused(q.pluginName, q.queueName, true);
  }

  /** Undoes {@link pause}; waiting jobs start again within `pausedRecheckMs`. */
  async resume(queue: LogicalQueue): Promise<void> {
    const q = logicalQueue('resume', queue);
    if (this.native?.engine.setPaused) {
      await this.native.engine.setPaused(q.pluginName, q.queueName, false);
      return;
    }
    this.unsupported('resume');
    await this.jobStore.setPaused(q.pluginName, q.queueName, false);
  }

  async isPaused(queue: LogicalQueue): Promise<boolean> {
    const q = logicalQueue('isPaused', queue);
    if (this.native?.engine.isPaused) return this.native.engine.isPaused(q.pluginName, q.queueName);
    this.unsupported('isPaused');
    return (await this.jobStore.pausedQueues()).includes(logicalQueueKey(q.pluginName, q.queueName));
  }

  /** Adds (or replaces, same id) a repeating job; one run per tick across the cluster. */
  async schedule<T = unknown>(input: ScheduleInput<T>): Promise<{ scheduleId: string }> {
    return this.scheduler.add(input, (probe) =>
      recordFromInput(probe, {
        attempts: this.options.defaultAttempts,
        maxPayloadBytes: this.deps.context.maxPayloadBytes,
      }),
    );
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
    if (this.native) {
      await this.native.sync([registration]);
      if (this.started) await this.registry.beat();
      return async () => {
        if (this.registry.remove(registration)) await this.native?.drop(registration);
      };
    }
    await this.useWorker();
    if (this.started) await this.registry.beat();
    return async () => {
      this.registry.remove(registration);
    };
  }

  /** Registers every `@PluginJobProcessor` declaration of `instance`'s class (calls its `handle`, else `process`). */
  async registerProcessor(instance: object): Promise<void> {
    this.registry.addInstance(instance);
    if (this.native) await this.native.sync(this.registry.registrationsOf(instance));
    else await this.useWorker();
    if (this.started) await this.registry.beat();
  }

  /** Unregisters a processor instance (its running jobs finish). */
  async unregisterProcessor(instance: object): Promise<void> {
    const registrations = this.registry.registrationsOf(instance);
    this.registry.removeInstance(instance);
    if (this.native) await Promise.all(registrations.map((r) => this.native!.drop(r)));
  }

  /** Where job reads go: the job store, or the native engine's queries (`NOT_SUPPORTED` without them). */
  private queries(feature: string): ManagedJobQueries {
    if (!this.native) return this.jobStore;
    const queries = this.native.engine.queries;
    if (!queries) throw nativeNotSupported(feature, this.native.engine.kind);
    return queries;
  }

  /** Throws `NOT_SUPPORTED` when a native engine runs this queue (its optional call `feature` is not there). */
  private unsupported(feature: string): void {
    if (this.native) throw nativeNotSupported(feature, this.native.engine.kind);
  }

  private assertStarted(call: string): void {
    if (!this.started) {
      throw new ClusterError(ErrorCodes.NOT_CONNECTED, `managedQueue.${call}: not started (call app.start() first)`);
    }
  }
}

function shutdownReason(): ClusterError {
  return new ClusterError(ErrorCodes.SHUTDOWN, 'the node is stopping');
}

function logicalQueue(call: string, queue: LogicalQueue): LogicalQueue {
  const q = assertOptions(`managedQueue.${call}`, queue, ['pluginName', 'queueName']);
  return { pluginName: assertName('pluginName', q.pluginName), queueName: assertName('queueName', q.queueName) };
}

/** A pg client (anything with `query`) or a Sequelize transaction: a database transaction of some kind. */
function looksLikeDatabaseTransaction(transaction: object): boolean {
  return 'sequelize' in transaction || typeof (transaction as { query?: unknown }).query === 'function';
}
