/**
 * NO_PROCESSOR on a native engine (native-engine.ts): as on the record engine, a job fails with
 * code `NO_PROCESSOR` once no live node has had its handler for `processorGraceMs`. Every
 * `processorGraceMs / 2` (at least 50 ms, at most 5 s) one node — whichever holds the lock manager's
 * `managed-queue:native-no-processor` lock — asks the engine for one pass
 * ({@link ManagedJobEngine.failWithoutProcessor}): the engine keeps since when each of its handler
 * queues has had no live handler (the handlers a node runs are in the heartbeat it already writes;
 * a producer-only node's are not), and fails, one atomic step per job, the jobs of a handler
 * missing for the grace period that have been ready to run for as long.
 *
 * Each job failed is announced as on the record engine: one `job:failed` event per attempt the step
 * spent, on the node that ran the pass, the last one final (`willRetry: false`, state `failed`).
 *
 * Bound: such a job fails at most `processorGraceMs` + one pass interval after both its handler went
 * missing and it became ready — plus the lock's lease (`max(1 s, processorGraceMs)`) if the node
 * running the pass died.
 */
import type { ClusterError } from '../errors.js';
import type { LockManager } from '../lock/lock-manager.js';
import { backoffDelay } from '../event-queue/backoff.js';
import { toJobInfo, type JobRecord } from './envelope.js';
import { LockedPass } from './locked-pass.js';
import type { ManagedJobEngine } from './native-engine.js';
import { noProcessorError } from './no-processor-error.js';
import type { ManagedJobInfo } from './types.js';

/** A handler's identity, as a pass names it. */
export interface NativeHandlerName {
  readonly pluginName: string;
  readonly queueName: string;
  readonly jobName: string;
}

/** What core asks of one engine pass ({@link ManagedJobEngine.failWithoutProcessor}). */
export interface NativeNoProcessorPass {
  /** How long a handler must be missing, and a job ready, before the job fails, ms. */
  readonly graceMs: number;
  /** Now, epoch ms. */
  readonly now: number;
  /** Does a live node (that takes jobs) run this handler? */
  alive(handler: NativeHandlerName): Promise<boolean>;
  /** The failure of a job of `handler` (its message is the job's `failedReason`, its code `NO_PROCESSOR`). */
  error(handler: NativeHandlerName): ClusterError;
  /**
   * Called for each job the pass failed, with the job after the failure (read in the same step) and
   * how many attempts that step spent: core emits the `job:failed` events.
   */
  failed?(record: JobRecord, spent: number, error: ClusterError): void;
  /** Aborted when the pass must stop (its lock was lost). */
  readonly signal?: AbortSignal;
}

/** What {@link NativeNoProcessor} needs. */
export interface NativeNoProcessorDeps {
  readonly engine: ManagedJobEngine;
  readonly locks: LockManager;
  /** `processorGraceMs`. */
  readonly graceMs: number;
  /** Is the handler (its `handlerKey`) alive on some node (this one included)? */
  aliveAnywhere(pluginName: string, queueName: string, jobName: string): Promise<boolean>;
  onError(error: unknown): void;
  /** Emits a `job:failed` event on this node (when listened to). */
  emitFailed?(info: ManagedJobInfo, error: ClusterError, meta: { willRetry: boolean; durationMs: number }): void;
}

/** The periodic NO_PROCESSOR pass of one node (only one node runs it at a time). */
export class NativeNoProcessor extends LockedPass {
  constructor(private readonly deps: NativeNoProcessorDeps) {
    super({
      locks: deps.locks,
      lockName: 'managed-queue:native-no-processor',
      leaseMs: Math.max(1_000, deps.graceMs),
      everyMs: Math.max(50, Math.min(5_000, Math.floor(deps.graceMs / 2))),
      run: (now, signal) => this.failMissing(now, signal),
      onError: deps.onError,
    });
  }

  /** Starts the passes (nothing when the engine has no `failWithoutProcessor`). */
  override start(): void {
    if (this.deps.engine.failWithoutProcessor) super.start();
  }

  /** One engine pass; resolves with how many jobs it failed. */
  private async failMissing(now: number, signal: AbortSignal): Promise<number> {
    const { engine, graceMs } = this.deps;
    if (!engine.failWithoutProcessor) return 0;
    return engine.failWithoutProcessor({
      graceMs,
      now,
      signal,
      alive: (h) => this.deps.aliveAnywhere(h.pluginName, h.queueName, h.jobName),
      error: (h) => noProcessorError(h, graceMs),
      failed: (record, spent, error) => this.announce(record, spent, error),
    });
  }

  /**
   * The `job:failed` events of a job the pass failed, as the record engine emits them: one per
   * attempt spent, the earlier ones with `willRetry` (the job as it was between those attempts).
   */
  private announce(record: JobRecord, spent: number, error: ClusterError): void {
    const emit = this.deps.emitFailed;
    if (!emit) return;
    for (let k = spent - 1; k >= 0; k -= 1) {
      if (k === 0) {
        emit(toJobInfo(record), error, { willRetry: false, durationMs: 0 });
        continue;
      }
      const attemptsMade = record.attemptsMade - k;
      const between: JobRecord = {
        ...record,
        attemptsMade,
        attemptsStarted: record.attemptsStarted - k,
        history: record.history.slice(0, Math.max(0, record.history.length - k)),
        state: backoffDelay(record.backoff, attemptsMade) > 0 ? 'delayed' : 'waiting',
      };
      delete between.finishedAt;
      emit(toJobInfo(between), error, { willRetry: true, durationMs: 0 });
    }
  }
}
