/**
 * `app.managedQueue` on a native engine (native-engine.ts; on Redis the default): the core calls — enqueue (with `afterCommit` transactions: native-transaction.ts), handlers,
 * getJob/getJobLogs, waitForJob, cancel — with the same checks and
 * the same results as the record + ticket layer; ManagedQueue forwards them here and throws
 * `NOT_SUPPORTED` (see {@link nativeNotSupported}) for the rest.
 */
import { assertName, assertOptions } from '../validation.js';
import { toJobInfo, type JobRecord } from './envelope.js';
import type { CancelResult } from './job-control.js';
import { visibleToCaller } from './job-queries.js';
import type { ManagedJobEngine } from './native-engine.js';
import { NativeNoProcessor, type NativeNoProcessorDeps } from './native-no-processor.js';
import { nativeHandlerOf, type NativeRunnerDeps } from './native-runner.js';
import type { Registration } from './registration.js';
import type { ManagedJobInfo } from './types.js';
import { endErrorOf, jobGoneError } from './wait-for-job.js';
import { addAfterCommit } from './native-transaction.js';

/** The native-engine side of one node's managed queue. */
export class NativeManagedJobs {
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

  /** Starts the engine, then the workers of the handlers registered before the start, and the NO_PROCESSOR passes. */
  async start(registrations: Iterable<Registration>): Promise<void> {
    await this.engine.start();
    this.started = true;
    await this.sync(registrations);
    this.noProcessor?.start();
  }

  /** Starts the worker of every registration that has none yet (once started, and unless `worker: false`). */
  async sync(registrations: Iterable<Registration>): Promise<void> {
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

  /** Stops the worker of a registration removed from the registry (its running jobs finish). */
  async drop(registration: Registration): Promise<void> {
    const worker = this.workers.get(registration);
    if (!worker) return;
    this.workers.delete(registration);
    await (
      await worker
    )();
  }

  /** Stops every worker (running jobs get `graceMs`, then their signal aborts) and the engine. */
  async stop(graceMs: number): Promise<void> {
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

  /** `retry`, `remove` or `promote` of a job the caller may see, through the engine (which has `op`). */
  async operate<R>(
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
