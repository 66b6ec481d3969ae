/**
 * `app.managedQueue` on a native engine (native-engine.ts; on Redis the default): the core calls — enqueue (with `afterCommit` transactions: native-transaction.ts), handlers,
 * getJob/getJobLogs, waitForJob, cancel — with the same checks and
 * the same results as the record + ticket layer (ManagedQueue forwards them here, see queue-engine.ts);
 * the optional calls go to the engine where it has them, else throw `NOT_SUPPORTED` ({@link nativeNotSupported}).
 */
import type { LockManager } from '../lock/lock-manager.js';
import { assertName, assertOptions } from '../validation.js';
import { toJobInfo, type JobRecord } from './envelope.js';
import type { CancelResult, PromoteResult, RemoveResult, RetryResult } from './job-control.js';
import { visibleToCaller } from './job-queries.js';
import {
  nativeNotSupported,
  type ManagedJobEngine,
  type ManagedJobEngineFactory,
  type ManagedJobQueries,
} from './native-engine.js';
import { NativeNoProcessor, type NativeNoProcessorDeps } from './native-no-processor.js';
import { nativeHandlerOf, type NativeRunnerDeps } from './native-runner.js';
import type { QueueEngine, QueueEngineParts } from './queue-engine.js';
import type { Registration } from './registration.js';
import { handlerKey } from './scoped-key.js';
import type { LogicalQueue, ManagedJobInfo } from './types.js';
import { endErrorOf, jobGoneError } from './wait-for-job.js';
import { addAfterCommit } from './native-transaction.js';

/** The native-engine side of one node's managed queue. */
export class NativeManagedJobs implements QueueEngine {
  /** Builds the engine of `factory` for the managed queue whose shared parts are `parts`. */
  static over(factory: ManagedJobEngineFactory, parts: QueueEngineParts, locks: LockManager): NativeManagedJobs {
    const { context, options, registry } = parts;
    return new NativeManagedJobs(
      factory({
        appName: context.appName,
        nodeId: context.nodeId,
        completedRetentionMs: options.completedRetentionMs,
        failedRetentionMs: options.failedRetentionMs,
        reportError: context.reportError,
      }),
      {
        maxPayloadBytes: context.maxPayloadBytes,
        channel: parts.physicalChannel,
        worker: options.worker,
        emit: parts.emit,
        listens: parts.listens,
        reportError: (error, meta) => context.reportError(error, { source: 'managedQueue.native', ...meta }),
        registrations: () => registry.all(),
        noProcessor: {
          locks,
          graceMs: options.processorGraceMs,
          aliveAnywhere: (p, q, j) => registry.aliveAnywhere(handlerKey(p, q, j)),
        },
      },
    );
  }

  /** Handlers whose worker runs (or is starting) on this node, and how to stop each. */
  private readonly workers = new Map<Registration, Promise<() => Promise<void>>>();
  private started = false;
  /** The NO_PROCESSOR passes (when the engine has them and core gave what they need). */
  private readonly noProcessor: NativeNoProcessor | undefined;

  constructor(
    readonly engine: ManagedJobEngine,
    private readonly deps: NativeRunnerDeps & {
      readonly worker: boolean;
      reportError(error: unknown, meta?: Record<string, unknown>): void;
      /** The handlers registered so far (their workers start with the engine). */
      registrations(): Iterable<Registration>;
      /** For the NO_PROCESSOR passes (native-no-processor.ts). */
      readonly noProcessor?: Omit<NativeNoProcessorDeps, 'engine' | 'onError'>;
    },
  ) {
    this.noProcessor = deps.noProcessor
      ? new NativeNoProcessor({
          ...deps.noProcessor,
          engine,
          onError: (error) => deps.reportError(error, { source: 'managedQueue.native.noProcessor' }),
          emitFailed: (info, error, meta) => {
            if (deps.listens('job:failed')) deps.emit('job:failed', info, error, meta);
          },
        })
      : undefined;
  }

  /** Nothing to do: the engine's workers start with it. */
  resume(): void {}

  /** Nothing to do: the engine aborts a cancelled job's attempt itself (`cancel`). */
  abort(): void {}

  /** Starts the engine, then the workers of the handlers registered before the start, and the NO_PROCESSOR passes. */
  async start(): Promise<void> {
    await this.engine.start();
    this.started = true;
    await this.added(this.deps.registrations());
    this.noProcessor?.start();
  }

  /** Starts the worker of every registration that has none yet (once started, and unless `worker: false`). */
  async added(registrations: Iterable<Registration>): Promise<void> {
    if (!this.started || !this.deps.worker) return;
    const starting: Promise<unknown>[] = [];
    for (const registration of registrations) {
      if (this.workers.has(registration)) continue;
      const worker = this.engine.handle(nativeHandlerOf(registration, this.deps));
      worker.catch(() => this.workers.delete(registration));
      this.workers.set(registration, worker);
      starting.push(worker);
    }
    await Promise.all(starting);
  }

  /** Stops the workers of registrations removed from the registry (their running jobs finish). */
  async dropped(registrations: readonly Registration[]): Promise<void> {
    await Promise.all(registrations.map((r) => this.drop(r)));
  }

  private async drop(registration: Registration): Promise<void> {
    const worker = this.workers.get(registration);
    if (!worker) return;
    this.workers.delete(registration);
    await (
      await worker
    )();
  }

  /** Stops every worker (running jobs get `graceMs`, then their signal aborts) and the engine. */
  async stop(graceMs: number, report: (error: unknown) => void): Promise<void> {
    await this.shutdown(graceMs).catch(report);
  }

  private async shutdown(graceMs: number): Promise<void> {
    this.started = false;
    await this.noProcessor?.stop();
    this.workers.clear();
    await this.engine.stop(graceMs);
  }

  /**
   * Adds a checked record's job; the existing job's id for a duplicate caller `jobId`. With a
   * `transaction` (checked by the caller), the job is added once it commits: see {@link addAfterCommit}.
   */
  async enqueue(record: JobRecord, transaction?: object): Promise<{ jobId: string }> {
    if (transaction === undefined) return { jobId: await this.engine.add(record) };
    return { jobId: addAfterCommit(this.engine, record, transaction, this.deps.reportError) };
  }

  /** A schedule tick's job: one atomic add (deduplicated by its id), so there is nothing to keep. */
  async enqueueTick(record: JobRecord): Promise<void> {
    await this.enqueue(record);
  }

  /** The job when it exists and the caller may see it. */
  private async visible(jobId: string): Promise<{ record: JobRecord; logs: string[] } | null> {
    assertName('jobId', jobId);
    const found = await this.engine.get(jobId);
    return found && visibleToCaller(found.record) ? found : null;
  }

  /** `getJob`: the job with its log, or null when it does not exist or is another tenant's. */
  async getJob(jobId: string): Promise<ManagedJobInfo | null> {
    const found = await this.visible(jobId);
    return found ? { ...toJobInfo(found.record), logs: found.logs } : null;
  }

  /** `getJobLogs`: the job's log lines, or null as {@link getJob}. */
  async getJobLogs(jobId: string): Promise<string[] | null> {
    return (await this.visible(jobId))?.logs ?? null;
  }

  /** `cancel`, for a job the caller may see (else `not_found`). */
  async cancel(options: { jobId: string; abortActive?: boolean }): Promise<CancelResult> {
    const { jobId, abortActive } = assertOptions('managedQueue.cancel', options, ['jobId', 'abortActive']);
    if (!(await this.visible(jobId as string))) return { success: false, reason: 'not_found' };
    return this.engine.cancel(jobId as string, abortActive === true);
  }

  /** `retry` through the engine (`NOT_SUPPORTED` without its optional call). */
  async retry(jobId: string): Promise<RetryResult> {
    const { retry } = this.engine;
    if (!retry) throw nativeNotSupported('retry', this.engine.kind);
    return this.operate(jobId, (id) => retry.call(this.engine, id));
  }

  /** `remove`, as {@link retry}. */
  async remove(jobId: string): Promise<RemoveResult> {
    const { remove } = this.engine;
    if (!remove) throw nativeNotSupported('remove', this.engine.kind);
    return this.operate(jobId, (id) => remove.call(this.engine, id));
  }

  /** `promote`, as {@link retry}. */
  async promote(jobId: string): Promise<PromoteResult> {
    const { promote } = this.engine;
    if (!promote) throw nativeNotSupported('promote', this.engine.kind);
    return this.operate(jobId, (id) => promote.call(this.engine, id));
  }

  /** The engine's job reads (`NOT_SUPPORTED` for `feature` without them). */
  queries(feature: string): ManagedJobQueries {
    const { queries } = this.engine;
    if (!queries) throw nativeNotSupported(feature, this.engine.kind);
    return queries;
  }

  /** `pause` / `resume` (`NOT_SUPPORTED` as `feature` when the engine cannot pause). */
  async setPaused(queue: LogicalQueue, paused: boolean, feature: string): Promise<void> {
    if (!this.engine.setPaused) throw nativeNotSupported(feature, this.engine.kind);
    await this.engine.setPaused(queue.pluginName, queue.queueName, paused);
  }

  /** `isPaused` (`NOT_SUPPORTED` when the engine cannot pause). */
  async isPaused(queue: LogicalQueue): Promise<boolean> {
    if (!this.engine.isPaused) throw nativeNotSupported('isPaused', this.engine.kind);
    return this.engine.isPaused(queue.pluginName, queue.queueName);
  }

  /** A job the caller may see through `op` (else `not_found`). */
  private async operate<R>(
    jobId: string,
    op: (id: string) => Promise<R>,
  ): Promise<R | { success: false; reason: 'not_found' }> {
    if (!(await this.visible(jobId))) return { success: false, reason: 'not_found' };
    return op(jobId);
  }

  /** `waitForJob`: the return value, or the job's failure / cancellation / absence as today's errors. */
  async waitForJob(jobId: string, timeoutMs: number): Promise<unknown> {
    if (!(await this.visible(jobId))) throw jobGoneError(jobId, 'does not exist');
    const record = await this.engine.waitFinished(jobId, timeoutMs);
    if (record === 'removed') throw jobGoneError(jobId, 'was removed');
    if (!record) throw jobGoneError(jobId, 'no longer exists');
    if (record.state === 'completed') return record.returnValue;
    throw endErrorOf(jobId, record);
  }
}
