/**
 * `app.managedQueue`: plugins enqueue logical jobs and declare handlers; the platform owns the one
 * physical queue they all travel on, workers, retries, delays, cancellation and tenant context.
 * Built only on the managers' public APIs (event queue, lock manager, pub/sub, cache store), so it
 * works on whatever adapters the app has. How a ticket is routed: dispatcher.ts; how a job runs:
 * job-runner.ts; the record/ticket model: envelope.ts.
 */
import { createHash } from 'node:crypto';
import type { CacheManager } from '../cache/cache-manager.js';
import type { ManagerContext } from '../context.js';
import { ClusterError, ErrorCodes } from '../errors.js';
import type { EventQueueManager } from '../event-queue/event-queue-manager.js';
import type { LockManager } from '../lock/lock-manager.js';
import type { PubSubManager } from '../pub-sub/pub-sub-manager.js';
import { assertDuration, assertFunction, assertName, assertOptions, describe } from '../validation.js';
import { Dispatcher } from './dispatcher.js';
import { envelopeOf, toJobInfo, type JobEnvelope } from './envelope.js';
import { recordFromInput } from './enqueue-input.js';
import { JobEvents } from './job-events.js';
import { cleanJobs, getMetrics, getQueueStats, listJobs, visibleToCaller, type CleanOptions } from './job-queries.js';
import { JobRunner } from './job-runner.js';
import { JobStore } from './job-store.js';
import { resolveManagedQueueOptions, type ManagedQueueOptions, type ResolvedManagedQueueOptions } from './options.js';
import { checkProcessorOptions, processorDeclarations } from './plugin-job-processor.js';
import { ProcessorRegistry, type Registration } from './processor-registry.js';
import { Scheduler } from './schedules.js';
import { ScopedState } from './scoped-state.js';
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
}

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

/** The managed plugin-job layer of one node. */
export class ManagedQueue extends ScopedState<ManagedQueueEvents> {
  /** `<app>:<channel>`: the one physical event-queue queue every logical job travels on. */
  readonly physicalQueueName: string;
  private readonly options: ResolvedManagedQueueOptions;
  private readonly jobs: JobStore;
  private readonly registry: ProcessorRegistry;
  private readonly runner: JobRunner;
  private readonly dispatcher: Dispatcher;
  private readonly events: JobEvents;
  private readonly scheduler: Scheduler;
  private readonly instances = new Map<object, Registration[]>();
  private started = false;
  private subscribed = false;

  constructor(
    private readonly deps: ManagedQueueDeps,
    options: ManagedQueueOptions = {},
  ) {
    super(deps.context.appName, () => deps.cacheManager.store);
    this.options = resolveManagedQueueOptions(options);
    this.physicalQueueName = `${deps.context.appName}:${this.options.physicalQueue}`;
    const report = (source: string) => (error: unknown) => deps.context.reportError(error, { source });
    this.jobs = new JobStore(() => deps.cacheManager.store, deps.context.appName);
    this.registry = new ProcessorRegistry(this.jobs, deps.context.nodeId, this.options.heartbeatTtlMs, report('managedQueue.heartbeat'));
    this.events = new JobEvents(
      deps.pubSubManager,
      `${this.options.physicalQueue}:events`,
      (jobId) => this.runner.abort(jobId),
      report('managedQueue.events'),
    );
    const publishTicket = (envelope: JobEnvelope, delayMs: number, physicalId: string) =>
      this.publishTicket(envelope, delayMs, physicalId);
    this.runner = new JobRunner({
      jobs: this.jobs,
      events: this.events,
      nodeId: deps.context.nodeId,
      maxPayloadBytes: deps.context.maxPayloadBytes,
      completedRetentionMs: this.options.completedRetentionMs,
      failedRetentionMs: this.options.failedRetentionMs,
      emit: (event, ...args) => (this.emit as (e: string, ...a: unknown[]) => boolean)(event, ...args),
      publishTicket,
      reportError: deps.context.reportError,
    });
    this.dispatcher = new Dispatcher({
      jobs: this.jobs,
      registry: this.registry,
      runner: this.runner,
      locks: deps.lockManager,
      nodeId: deps.context.nodeId,
      processorGraceMs: this.options.processorGraceMs,
      handBackDelayMs: this.options.handBackDelayMs,
      pausedRecheckMs: this.options.pausedRecheckMs,
      isPaused: (p, q) => this.pausedNow(p, q),
      publishTicket,
      reportError: deps.context.reportError,
    });
    this.scheduler = new Scheduler(this.jobs, (input) => this.enqueue(input), this.options.scheduleRefreshMs, report('managedQueue.schedules'));
  }

  /** Starts heartbeats, job events, the physical consumer (unless `worker: false`) and schedules. Called by `app.start()`. */
  async start(): Promise<void> {
    if (this.started) return;
    await this.registry.start();
    await this.events.start();
    if (this.options.worker && !this.subscribed) {
      await this.deps.eventQueue.subscribe(this.options.physicalQueue, {
        process: this.dispatcher.deliver,
        concurrency: this.options.workerConcurrency,
        // Tickets only fail on store/broker trouble (job attempts are counted on the record), so retry them patiently.
        maxRetries: 1_000,
        backoff: { type: 'exponential', delay: 200, maxDelay: 10_000 },
      });
      this.subscribed = true;
    }
    if (this.options.schedules) this.scheduler.start();
    this.started = true;
  }

  /** Stops schedules, heartbeats and job events; in-flight jobs drain with the event queue. Called by `app.stop()`. */
  async stop(): Promise<void> {
    if (!this.started) return;
    this.started = false;
    await this.scheduler.stop();
    await this.registry.stop();
    await this.events.stop().catch((error: unknown) => this.deps.context.reportError(error, { source: 'managedQueue' }));
  }

  /**
   * Enqueues a logical job on the physical queue and returns its id. With `transaction`, nothing is
   * written until it commits (the id is returned at once; a rollback drops the job).
   */
  async enqueue<T = unknown>(input: EnqueueInput<T>, options?: EnqueueOptions): Promise<{ jobId: string }> {
    const { transaction } = assertOptions('managedQueue.enqueue', options, ['transaction']);
    if (transaction !== undefined && typeof (transaction as { afterCommit?: unknown })?.afterCommit !== 'function') {
      throw new ClusterError(ErrorCodes.INVALID_OPTION, `transaction must have an afterCommit(callback) method, got ${describe(transaction)}`);
    }
    const record = recordFromInput(input, { attempts: this.options.defaultAttempts, maxPayloadBytes: this.deps.context.maxPayloadBytes });
    const write = async () => {
      this.assertStarted('enqueue');
      if (!(await this.jobs.create(record))) return; // the id exists: deduplicated
      try {
        await this.publishTicket(envelopeOf(record), Math.max(0, record.runAt - Date.now()), `${record.id}|0`);
      } catch (error) {
        await this.jobs.delete(record.id).catch(() => {});
        throw error;
      }
    };
    if (transaction === undefined) await write();
    else {
      this.assertStarted('enqueue');
      transaction.afterCommit(() =>
        write().catch((error: unknown) => this.deps.context.reportError(error, { source: 'managedQueue.enqueue', jobId: record.id })),
      );
    }
    return { jobId: record.id };
  }

  /** The job, or null when it does not exist or belongs to another tenant than the current one. */
  async getJob(jobId: string): Promise<ManagedJobInfo | null> {
    assertName('jobId', jobId);
    const record = await this.jobs.get(jobId);
    return record && visibleToCaller(record) ? toJobInfo(record) : null;
  }

  /**
   * Cancels a waiting or delayed job. An active job is only aborted with `abortActive` (its signal
   * aborts on the node running it; it ends `cancelled` unless it completes anyway).
   */
  async cancel(options: { jobId: string; abortActive?: boolean }): Promise<CancelResult> {
    const { jobId, abortActive } = assertOptions('managedQueue.cancel', options, ['jobId', 'abortActive']);
    assertName('jobId', jobId);
    for (let round = 0; round < 5; round += 1) {
      const record = await this.jobs.get(jobId as string);
      if (!record || !visibleToCaller(record)) return { success: false, reason: 'not_found' };
      if (record.state === 'cancelled') return { success: true };
      if (record.state === 'completed' || record.state === 'failed') return { success: false, reason: record.state };
      let active = record.state === 'active';
      if (!active) {
        if (await this.jobs.claim(record.id, record.gen, 'cancelled')) {
          record.state = 'cancelled';
          record.finishedAt = Date.now();
          await this.jobs.put(record, typeof record.removeOnFail === 'number' ? record.removeOnFail : this.options.failedRetentionMs);
          await this.events.finished({ type: 'finished', jobId: record.id, state: 'cancelled' });
          return { success: true };
        }
        active = (await this.jobs.claimOf(record.id, record.gen))?.startsWith('active|') === true;
        if (!active) continue; // the generation moved on (a failed attempt); look again
      }
      if (abortActive !== true) return { success: false, reason: 'active' };
      await this.jobs.store.set(this.jobs.key('abort', record.id), '1', { ttlMs: this.options.failedRetentionMs });
      await this.events.abort(record.id);
      return { success: true };
    }
    return { success: false, reason: 'active' };
  }

  /** Runs a failed or cancelled job again with a fresh attempt budget. */
  async retry(jobId: string): Promise<RetryResult> {
    assertName('jobId', jobId);
    this.assertStarted('retry');
    const record = await this.jobs.get(jobId);
    if (!record || !visibleToCaller(record)) return { success: false, reason: 'not_found' };
    if (record.state !== 'failed' && record.state !== 'cancelled') {
      return { success: false, reason: record.state === 'completed' ? 'completed' : record.state };
    }
    if (!(await this.jobs.store.set(this.jobs.key('retry', record.gen, record.id), '1', { nx: true, ttlMs: this.options.failedRetentionMs }))) {
      return { success: false, reason: 'already_retried' };
    }
    record.gen += 1;
    record.state = 'waiting';
    record.attemptsMade = 0;
    record.runAt = Date.now();
    for (const key of ['finishedAt', 'startedAt', 'failedReason', 'failedCode', 'returnValue', 'noProcessorSince'] as const) delete record[key];
    await this.jobs.store.del(this.jobs.key('abort', record.id));
    await this.jobs.put(record);
    await this.publishTicket(envelopeOf(record), 0, `${record.id}|${record.gen}`);
    return { success: true };
  }

  /** Resolves with the job's return value once it completes (on any node); rejects with its failure or on timeout. */
  async waitForJob(jobId: string, options: { timeoutMs: number }): Promise<unknown> {
    assertName('jobId', jobId);
    const { timeoutMs } = assertOptions('managedQueue.waitForJob', options, ['timeoutMs']);
    return waitForJob(this.jobs, this.events, jobId, assertDuration('timeoutMs', timeoutMs));
  }

  /** Jobs by state with paging, newest first (tenant-scoped inside `runWithTenant`). */
  listJobs(filter?: ListJobsFilter): Promise<{ jobs: ManagedJobInfo[]; total: number }> {
    return listJobs(this.jobs, filter);
  }

  /** Counts by state (tenant-scoped inside `runWithTenant`). */
  getMetrics(filter?: MetricsFilter): Promise<JobCounts> {
    return getMetrics(this.jobs, filter);
  }

  /** Counts per plugin/queue/tenant, with the logical queue's paused flag. */
  getQueueStats(): Promise<QueueStats[]> {
    return getQueueStats(this.jobs, (p, q) => this.pausedNow(p, q));
  }

  /** Deletes finished jobs older than `olderThanMs`; returns how many. */
  clean(options: CleanOptions): Promise<number> {
    return cleanJobs(this.jobs, options);
  }

  /** Stops starting jobs of a logical queue on every node (running ones finish; new ones wait). */
  async pause(queue: LogicalQueue): Promise<void> {
    await this.jobs.store.set(this.pausedKey(queue), String(Date.now()));
  }

  /** Undoes {@link pause}; waiting jobs start again within `pausedRecheckMs`. */
  async resume(queue: LogicalQueue): Promise<void> {
    await this.jobs.store.del(this.pausedKey(queue));
  }

  async isPaused(queue: LogicalQueue): Promise<boolean> {
    return (await this.jobs.store.get(this.pausedKey(queue))) !== undefined;
  }

  /** Adds (or replaces, same id) a repeating job; one run per tick across the cluster. */
  async schedule<T = unknown>(input: ScheduleInput<T>): Promise<{ scheduleId: string }> {
    return this.scheduler.add(input, (probe) =>
      recordFromInput(probe, { attempts: this.options.defaultAttempts, maxPayloadBytes: this.deps.context.maxPayloadBytes }),
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
    if (this.started) await this.registry.beat();
    return async () => {
      this.registry.remove(registration);
    };
  }

  /** Registers every `@PluginJobProcessor` declaration of `instance`'s class (calls its `handle`, else `process`). */
  async registerProcessor(instance: object): Promise<void> {
    if (typeof instance !== 'object' || instance === null) {
      throw new ClusterError(ErrorCodes.INVALID_ARGUMENT, `registerProcessor needs an instance, got ${describe(instance)}`);
    }
    if (this.instances.has(instance)) throw new ClusterError(ErrorCodes.ALREADY_SUBSCRIBED, 'this processor instance is already registered');
    const declarations = processorDeclarations(instance);
    if (declarations.length === 0) {
      throw new ClusterError(ErrorCodes.INVALID_ARGUMENT, `${instance.constructor?.name ?? 'instance'} has no @PluginJobProcessor declaration`);
    }
    const target = instance as { handle?: unknown; process?: unknown };
    const method = typeof target.handle === 'function' ? target.handle : target.process;
    if (typeof method !== 'function') {
      throw new ClusterError(ErrorCodes.INVALID_ARGUMENT, `${instance.constructor?.name ?? 'processor'} must implement handle(job, ctx)`);
    }
    const handler: ManagedJobHandler = (job, ctx) => (method as ManagedJobHandler).call(instance, job, ctx);
    const added: Registration[] = [];
    try {
      for (const declaration of declarations) added.push(this.registry.add(declaration, handler));
    } catch (error) {
      for (const registration of added) this.registry.remove(registration);
      throw error;
    }
    this.instances.set(instance, added);
    if (this.started) await this.registry.beat();
  }

  /** Unregisters a processor instance (its running jobs finish). */
  async unregisterProcessor(instance: object): Promise<void> {
    const added = this.instances.get(instance);
    if (!added) return;
    this.instances.delete(instance);
    for (const registration of added) this.registry.remove(registration);
  }

  private pausedKey(queue: LogicalQueue): string {
    const q = assertOptions('managedQueue.pause', queue, ['pluginName', 'queueName']);
    return this.jobs.key('paused', assertName('pluginName', q.pluginName), assertName('queueName', q.queueName));
  }

  private async pausedNow(pluginName: string, queueName: string): Promise<boolean> {
    return (await this.jobs.store.get(this.jobs.key('paused', pluginName, queueName))) !== undefined;
  }

  private assertStarted(call: string): void {
    if (!this.started) {
      throw new ClusterError(ErrorCodes.NOT_CONNECTED, `managedQueue.${call}: not started (call app.start() first)`);
    }
  }

  /** Publishes one ticket; priority and delay only where the event-queue adapter supports them. */
  private async publishTicket(envelope: JobEnvelope, delayMs: number, physicalId: string): Promise<void> {
    const caps = this.deps.eventQueue.capabilities;
    await this.deps.eventQueue.publish(this.options.physicalQueue, envelope, {
      jobId: physicalId.length > 400 ? hashId(physicalId) : physicalId,
      ...(caps.priority ? { priority: envelope.priority } : {}),
      ...(caps.delay && delayMs > 0 ? { delay: delayMs } : {}),
    });
  }
}

/** Physical ids must fit the event queue's name limit; long job ids are hashed (still deterministic). */
function hashId(id: string): string {
  return `h:${createHash('sha256').update(id).digest('hex')}`;
}
