/**
 * NO_PROCESSOR on a native engine (native-engine.ts): as on the default engine, a job fails with
 * code `NO_PROCESSOR` once no live node has had its handler for `processorGraceMs`. Every
 * `processorGraceMs / 2` (at least 50 ms, at most 5 s) one node — whichever holds the lock manager's
 * `managed-queue:native-no-processor` lock — asks the engine for one pass
 * ({@link ManagedJobEngine.failWithoutProcessor}): the engine keeps since when each of its handler
 * queues has had no live handler (the handlers a node runs are in the heartbeat it already writes;
 * a producer-only node's are not), and fails, one atomic step per job, the jobs of a handler
 * missing for the grace period that have been ready to run for as long.
 *
 * Bound: such a job fails at most `processorGraceMs` + one pass interval after both its handler went
 * missing and it became ready — plus the lock's lease (`max(1 s, processorGraceMs)`) if the node
 * running the pass died.
 */
import { LockAcquireError } from '../errors.js';
import type { LockManager } from '../lock/lock-manager.js';
import type { ManagedJobEngine } from './native-engine.js';

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
  /** The failure message of a job of `handler`. */
  reason(handler: NativeHandlerName): string;
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
}

/** The periodic NO_PROCESSOR pass of one node (only one node runs it at a time). */
export class NativeNoProcessor {
  private timer: NodeJS.Timeout | undefined;
  private pass: Promise<void> = Promise.resolve();

  constructor(private readonly deps: NativeNoProcessorDeps) {}

  /** Starts the passes (nothing when the engine has no `failWithoutProcessor`). */
  start(): void {
    if (!this.deps.engine.failWithoutProcessor || this.timer) return;
    const every = Math.max(50, Math.min(5_000, Math.floor(this.deps.graceMs / 2)));
    this.timer = setInterval(() => {
      this.pass = this.pass.then(async () => void (await this.runOnce())).catch(this.deps.onError);
    }, every);
    this.timer.unref?.();
  }

  /** Stops the passes; waits for one that runs. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.pass.catch(() => {});
  }

  /** One pass, if this node wins the lock; resolves with how many jobs it failed. */
  async runOnce(now = Date.now()): Promise<number> {
    const { engine, locks, graceMs } = this.deps;
    if (!engine.failWithoutProcessor) return 0;
    let lock;
    try {
      lock = await locks.tryAcquire('managed-queue:native-no-processor', Math.max(1_000, graceMs));
    } catch (error) {
      if (error instanceof LockAcquireError) return 0;
      throw error;
    }
    try {
      return await engine.failWithoutProcessor({
        graceMs,
        now,
        signal: lock.signal,
        alive: (h) => this.deps.aliveAnywhere(h.pluginName, h.queueName, h.jobName),
        reason: (h) =>
          `no processor registered for ${h.pluginName}/${h.queueName}/${h.jobName} on any live node for ${graceMs} ms`,
      });
    } finally {
      await lock.release().catch(() => {});
    }
  }
}
