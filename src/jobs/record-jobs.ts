/**
 * `app.managedQueue` on the record + ticket layer (the engine without a native one): a job is a
 * record in the job store plus a ticket on the one physical event-queue queue. Wires the writer,
 * runner, dispatcher, operator calls and reconciler, and owns the physical consumer. How a ticket
 * is routed: dispatcher.ts; how a job runs: job-runner.ts; the record/ticket model: envelope.ts.
 */
import { ClusterError, ErrorCodes } from '../errors.js';
import type { EventQueueManager } from '../event-queue/event-queue-manager.js';
import type { LockManager } from '../lock/lock-manager.js';
import { Dispatcher } from './dispatcher.js';
import { toJobInfo, type JobRecord } from './envelope.js';
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
import { visibleToCaller } from './job-queries.js';
import { JobRunner } from './job-runner.js';
import { JobWriter } from './job-writer.js';
import type { ManagedJobQueries } from './native-engine.js';
import { notStarted, type QueueEngine, type QueueEngineParts } from './queue-engine.js';
import { Reconciler } from './reconciler.js';
import { logicalQueueKey } from './scoped-key.js';
import { createTicketPreparer, createTicketPublisher } from './ticket-publisher.js';
import type { LogicalQueue, ManagedJobInfo } from './types.js';
import { waitForJob } from './wait-for-job.js';

/** One park in flight per this many physical slots (see park-gate.ts). */
const PARK_SHARE = 4;

/** How long a stopping node waits for a handler that ignores its aborted signal, beyond the grace period. */
const ABANDON_AFTER_MS = 1_000;

/** The record + ticket engine of one node's managed queue. */
export class RecordJobs implements QueueEngine {
  private readonly runner: JobRunner;
  private readonly dispatcher: Dispatcher;
  private readonly reconciler: Reconciler;
  private readonly control: ControlDeps;
  private readonly writer: JobWriter;
  /** The physical consumer's subscription, made on the first use of managed jobs (see {@link useWorker}). */
  private worker: Promise<void> | undefined;

  constructor(
    private readonly parts: QueueEngineParts,
    private readonly eventQueue: EventQueueManager,
    locks: LockManager,
  ) {
    const { context, options, store, registry, events } = parts;
    const publishTicket = createTicketPublisher(eventQueue, options.physicalQueue);
    this.writer = new JobWriter(
      () => store,
      publishTicket,
      context.reportError,
      () => eventQueue.capabilities.transactional === true,
      createTicketPreparer(eventQueue, options.physicalQueue),
    );
    const publishRecord = this.writer.publishRecord;
    this.runner = new JobRunner({
      store,
      events,
      nodeId: context.nodeId,
      physicalChannel: parts.physicalChannel,
      maxPayloadBytes: context.maxPayloadBytes,
      completedRetentionMs: options.completedRetentionMs,
      failedRetentionMs: options.failedRetentionMs,
      emit: parts.emit,
      listens: parts.listens,
      publishRecord: (record, delayMs) => publishRecord(record, delayMs),
      reportError: context.reportError,
    });
    this.dispatcher = new Dispatcher({
      store,
      registry,
      runner: this.runner,
      nodeId: context.nodeId,
      processorGraceMs: options.processorGraceMs,
      handBackDelayMs: options.handBackDelayMs,
      pausedRecheckMs: options.pausedRecheckMs,
      publishTicket,
      // A quarter of the physical slots may be parking at once; tickets waiting for a turn are held (park-gate.ts).
      parksInFlight: Math.ceil(options.workerConcurrency / PARK_SHARE),
      reportError: context.reportError,
    });
    this.control = {
      store,
      events,
      failedRetentionMs: options.failedRetentionMs,
      publishRecord: (record, delayMs) => publishRecord(record, delayMs),
    };
    this.reconciler = new Reconciler({
      store,
      locks,
      ticketRepairMs: options.ticketRepairMs,
      nodeAlive: (nodeId) => registry.nodeAlive(nodeId),
      publishRecord: (record, delayMs) => publishRecord(record, delayMs),
      onError: (error) => context.reportError(error, { source: 'managedQueue.reconciler' }),
    });
  }

  /** `cancel({ abortActive })` reached this node (through job events): aborts the job if it runs here. */
  abort(jobId: string): void {
    this.runner.abort(jobId);
  }

  resume(): void {
    this.dispatcher.resume();
  }

  /** Consumes the physical queue when handlers are registered (see {@link useWorker}), then repairs tickets. */
  async start(): Promise<void> {
    if (this.parts.registry.size > 0) await this.subscribeWorker();
    this.reconciler.start();
  }

  /**
   * Stops the reconciler, hands parked jobs back, lets running jobs finish (aborting them after the
   * grace period; a job aborted by the stop goes back unspent).
   */
  async stop(graceMs: number, report: (error: unknown) => void): Promise<void> {
    await this.reconciler.stop().catch(report);
    await this.dispatcher.unparkAll().catch(report);
    const abort = setTimeout(() => this.runner.abortAll(shutdownReason()), graceMs);
    let abandon: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        Promise.all([this.runner.idle(), this.dispatcher.drain()]),
        new Promise((resolve) => (abandon = setTimeout(resolve, graceMs + Math.max(graceMs, ABANDON_AFTER_MS)))),
      ]);
    } finally {
      clearTimeout(abort);
      clearTimeout(abandon);
    }
  }

  /**
   * Consumes the physical queue on this node from the first use of managed jobs on: a handler
   * registered, a job enqueued or retried here. An app that never uses managed jobs declares and
   * consumes nothing for them (on RabbitMQ: no quorum queue, no dead-letter queue).
   */
  private async useWorker(): Promise<void> {
    if (this.parts.started()) await this.subscribeWorker();
  }

  private subscribeWorker(): Promise<void> {
    const { options } = this.parts;
    if (!options.worker) return Promise.resolve();
    this.worker ??= this.eventQueue
      .subscribe(options.physicalQueue, {
        process: this.dispatcher.deliver,
        concurrency: options.workerConcurrency,
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

  async enqueue(record: JobRecord, transaction?: object): Promise<{ jobId: string }> {
    // First use of managed jobs on this node: consume (and so declare) the physical queue first.
    await this.useWorker();
    record.ticketPendingSince = record.enqueuedAt;
    await this.writer.write(record, transaction);
    return { jobId: record.id };
  }

  async enqueueTick(record: JobRecord): Promise<void> {
    record.ticketPendingSince = record.enqueuedAt;
    await this.writer.write(record, undefined, { keepOnPublishFailure: true });
  }

  async getJob(jobId: string): Promise<ManagedJobInfo | null> {
    const record = await this.visible(jobId);
    return record ? { ...toJobInfo(record), logs: await this.parts.store.getLogs(jobId) } : null;
  }

  async getJobLogs(jobId: string): Promise<string[] | null> {
    return (await this.visible(jobId)) ? this.parts.store.getLogs(jobId) : null;
  }

  /** The job's record when it exists and the caller may see it. */
  private async visible(jobId: string): Promise<JobRecord | null> {
    const record = await this.parts.store.get(jobId);
    return record && visibleToCaller(record) ? record : null;
  }

  cancel(options: { jobId: string; abortActive?: boolean }): Promise<CancelResult> {
    return cancelJob(this.control, options);
  }

  async retry(jobId: string): Promise<RetryResult> {
    return this.sendAgain('retry', () => retryJob(this.control, jobId));
  }

  async remove(jobId: string): Promise<RemoveResult> {
    this.assertStarted('remove');
    return removeJob(this.control, jobId);
  }

  async promote(jobId: string): Promise<PromoteResult> {
    return this.sendAgain('promote', () => promoteJob(this.control, jobId));
  }

  /** An operator call that may send a job again; only a job sent again uses the worker (an unknown id must not start one). */
  private async sendAgain<R extends { success: boolean }>(call: string, op: () => Promise<R>): Promise<R> {
    this.assertStarted(call);
    const result = await op();
    if (result.success) await this.useWorker();
    return result;
  }

  waitForJob(jobId: string, timeoutMs: number): Promise<unknown> {
    return waitForJob(this.parts.store, this.parts.events, jobId, timeoutMs);
  }

  queries(): ManagedJobQueries {
    return this.parts.store;
  }

  async setPaused(queue: LogicalQueue, paused: boolean): Promise<void> {
    await this.parts.store.setPaused(queue.pluginName, queue.queueName, paused);
  }

  async isPaused(queue: LogicalQueue): Promise<boolean> {
    return (await this.parts.store.pausedQueues()).includes(logicalQueueKey(queue.pluginName, queue.queueName));
  }

  /** A handler registered: this node consumes the physical queue (once started). */
  async added(): Promise<void> {
    await this.useWorker();
  }

  /** Nothing to stop: the dispatcher finds no handler for the removed ones' tickets. */
  async dropped(): Promise<void> {}

  private assertStarted(call: string): void {
    if (!this.parts.started()) throw notStarted(call);
  }
}

function shutdownReason(): ClusterError {
  return new ClusterError(ErrorCodes.SHUTDOWN, 'the node is stopping');
}
