/**
 * NocoBase's `WorkerIdAllocatorAdapter` on clusterkit locks: each node leases one of NocoBase's 32
 * snowflake worker ids (0–31) as the lock `worker-id:<app>:<id>`, keeps the lease alive while it
 * runs, and releases it on stop. A node that dies without releasing keeps its id only until the
 * lease runs out; then the id is free again. Unique across live nodes as far as the lock backend is
 * shared (Redis): with in-process locks it is unique per process only.
 */
import { randomInt } from 'node:crypto';
import { ClusterError, ErrorCodes, LockAcquireError, type Lock } from 'clusterkit/adapter-kit';
import { keepAlive } from './keep-alive.js';
import type { WorkerIdAllocatorAdapter } from './nocobase-types.js';
import type { BridgeRuntime } from './runtime.js';

/** NocoBase's snowflake worker ids are 5 bits: 0–31. */
export const WORKER_ID_COUNT = 32;

/** Options of {@link ClusterkitWorkerIdAllocator}. */
export interface WorkerIdAllocatorOptions {
  /** Whose ids: nodes of one NocoBase app share 32. @default the NocoBase app name */
  scope: string;
  /** Lease of a worker id, in ms: how long a dead node's id stays taken. Renewed every lease/3. @default 30000 */
  lease?: number;
}

/** NocoBase's worker-id allocator on a clusterkit node. */
export class ClusterkitWorkerIdAllocator implements WorkerIdAllocatorAdapter {
  private readonly scope: string;
  private readonly lease: number;
  private held: { id: number; lock: Lock; stop: () => void } | undefined;

  constructor(
    private readonly runtime: BridgeRuntime,
    options: WorkerIdAllocatorOptions,
  ) {
    this.scope = options.scope;
    this.lease = options.lease ?? 30_000;
  }

  /** The id this node holds, if any. */
  get workerId(): number | undefined {
    return this.held?.lock.held ? this.held.id : undefined;
  }

  /**
   * Leases a free worker id (tried from a random start, so nodes starting together rarely contend)
   * and keeps it. Rejects `INVALID_STATE` when all 32 are leased by live nodes.
   */
  async getWorkerId(): Promise<number> {
    if (this.held?.lock.held) return this.held.id;
    await this.runtime.ensureStarted();
    const start = randomInt(WORKER_ID_COUNT);
    for (let i = 0; i < WORKER_ID_COUNT; i++) {
      const id = (start + i) % WORKER_ID_COUNT;
      const lock = await this.tryLease(id);
      if (!lock) continue;
      this.keep(id, lock);
      return id;
    }
    throw new ClusterError(
      ErrorCodes.INVALID_STATE,
      `all ${WORKER_ID_COUNT} worker ids of "${this.scope}" are leased by live nodes (NocoBase's snowflake ids allow no more)`,
      { details: { scope: this.scope } },
    );
  }

  /**
   * Leases `id` again for a node that keeps using it: NocoBase releases its worker id on `stop()`
   * but keeps the number, and a `start()` without `load()` does not ask for a new one. Resolves
   * whether the lease was taken; when another node holds `id` now, says so loudly (ids may collide).
   */
  async reclaim(id: number): Promise<boolean> {
    if (this.held?.lock.held) return this.held.id === id;
    await this.runtime.ensureStarted();
    const lock = await this.tryLease(id);
    if (!lock) {
      this.runtime.logger.error(
        `worker id ${id} is leased by another node; this node keeps using it (reload the app to get a free one)`,
        { workerId: id },
      );
      return false;
    }
    this.keep(id, lock);
    return true;
  }

  /** Gives the id back at once (NocoBase calls it when the app stops). */
  async release(): Promise<void> {
    const held = this.held;
    this.held = undefined;
    if (!held) return;
    held.stop();
    await held.lock.release().catch((error: unknown) => {
      this.runtime.logger.warn(`could not release worker id ${held.id}; it frees when its lease runs out`, { error });
    });
  }

  private async tryLease(id: number): Promise<Lock | undefined> {
    try {
      return await this.runtime.app.lockManager.tryAcquire(`worker-id:${this.scope}:${id}`, this.lease);
    } catch (error) {
      if (error instanceof LockAcquireError) return undefined;
      throw error;
    }
  }

  private keep(id: number, lock: Lock): void {
    const stop = keepAlive(lock, this.lease, this.runtime.logger, () => void this.recover(id));
    this.held = { id, lock, stop };
  }

  /**
   * The lease was lost (the backend was unreachable for a whole lease): NocoBase cannot change its
   * worker id at run time, so take the same id back as soon as it is free, and say so loudly.
   */
  private async recover(id: number): Promise<void> {
    const lost = this.held;
    if (!lost || lost.id !== id) return;
    this.runtime.logger.error(`worker id ${id} lease was lost; another node may take it — re-leasing it`, {});
    while (this.held === lost && this.runtime.running) {
      const lock = await this.tryLease(id).catch(() => undefined);
      if (lock) {
        if (this.held === lost) this.keep(id, lock);
        else await lock.release().catch(() => false);
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, Math.max(100, this.lease / 3)).unref());
    }
  }
}
