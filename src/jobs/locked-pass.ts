/**
 * A periodic pass that one node at a time runs: every `everyMs` each node tries the lock manager's
 * lock `lockName` (lease `leaseMs`, which bounds how long a node that died mid-pass keeps the others
 * out) and, if it wins, runs the pass with the lock's signal (aborted when the lock is lost), then
 * releases it. The reconciler (reconciler.ts) and the native engine's NO_PROCESSOR pass
 * (native-no-processor.ts) are such passes.
 */
import { LockAcquireError } from '../errors.js';
import type { LockManager } from '../lock/lock-manager.js';

/** What a {@link LockedPass} needs. */
export interface LockedPassOptions {
  readonly locks: LockManager;
  readonly lockName: string;
  /** The lock's lease, ms. */
  readonly leaseMs: number;
  /** How often a pass is tried, ms. */
  readonly everyMs: number;
  /** The pass; resolves with how many items it handled. */
  run(now: number, signal: AbortSignal): Promise<number>;
  onError(error: unknown): void;
}

/** A pass run periodically by whichever node holds its lock (see the module comment). */
export class LockedPass {
  private timer: NodeJS.Timeout | undefined;
  private pass: Promise<void> = Promise.resolve();

  constructor(private readonly options: LockedPassOptions) {}

  /** Starts trying the pass every `everyMs` (once started, a second call does nothing). */
  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      this.pass = this.pass.then(async () => void (await this.runOnce())).catch(this.options.onError);
    }, this.options.everyMs);
    this.timer.unref?.();
  }

  /** Stops the passes; waits for one that runs. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.pass.catch(() => {});
  }

  /** One pass, if this node wins the lock; resolves with what the pass returned (0 without the lock). */
  async runOnce(now = Date.now()): Promise<number> {
    const { locks, lockName, leaseMs } = this.options;
    let lock;
    try {
      lock = await locks.tryAcquire(lockName, leaseMs);
    } catch (error) {
      if (error instanceof LockAcquireError) return 0;
      throw error;
    }
    try {
      return await this.options.run(now, lock.signal);
    } finally {
      await lock.release().catch(() => {});
    }
  }
}
