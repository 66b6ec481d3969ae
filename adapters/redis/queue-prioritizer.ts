/**
 * Which BullMQ queues are prioritized, and the switch that makes one so (`PRIORITIZE_QUEUE`,
 * lua/queue-scripts.ts). Shared by the event queue's publisher (queue-publisher.ts) and the native
 * managed-job engine's adds (native-job-engine.ts).
 *
 * BullMQ runs priority-less ("plain") jobs before every prioritized one, and a plain add costs the
 * server less (no prioritized set, no priority counter). So a queue starts plain: jobs of the
 * default priority are added without a BullMQ priority while the queue has only ever seen the
 * default. The first add of another priority switches the queue for good (a flag in BullMQ's meta
 * hash, set atomically with moving its waiting plain jobs to the prioritized set, oldest first, and
 * giving its delayed, active and failed plain jobs the default level). A plain add checks the flag
 * in its own script (`AFTER_PLAIN_ADD_BODY`), so an add from a node that has not heard of the
 * switch yet is lifted to the default level in the same step.
 */
import type { RedisClient } from './connection.js';
import { BULL_DEFAULT_PRIORITY, PRIORITIZE_QUEUE } from './lua/queue-scripts.js';

/** The keys of BullMQ's queue structures the switch touches, in `PRIORITIZE_QUEUE`'s order. */
const FLIP_KEYS = ['meta', 'wait', 'paused', 'prioritized', 'pc', 'delayed', 'active', 'failed', 'marker'] as const;

type Scripted = Record<string, (...args: (string | number)[]) => Promise<unknown>>;

/** The prioritized queues one node knows of, and the switches it runs. */
export class QueuePrioritizer {
  /** Queues this node switched or saw switched (never undone, except by `forget`). */
  private readonly prioritized = new Set<string>();
  /** Switches in flight, per queue: concurrent adds that all need it share one script call. */
  private readonly flipping = new Map<string, Promise<void>>();
  private readonly defined = new WeakSet<object>();

  /** Whether this node knows `queue` is prioritized (adds of the default priority must then carry it). */
  has(queue: string): boolean {
    return this.prioritized.has(queue);
  }

  /** Records that `queue` is prioritized (a script reported that it switched it). */
  mark(queue: string): void {
    this.prioritized.add(queue);
  }

  /** Forgets what this node knew of `queue` (after obliterate). */
  forget(queue: string): void {
    this.prioritized.delete(queue);
  }

  /**
   * Switches `queue` to prioritized (idempotent across nodes) and remembers it.
   * @param keyPrefix BullMQ's key prefix of the queue (`<prefix>:<queue name>:`)
   */
  prioritize(client: RedisClient, queue: string, keyPrefix: string): Promise<void> {
    if (this.prioritized.has(queue)) return Promise.resolve();
    let flip = this.flipping.get(queue);
    if (!flip) {
      flip = this.flip(client, queue, keyPrefix).finally(() => this.flipping.delete(queue));
      this.flipping.set(queue, flip);
    }
    return flip;
  }

  private async flip(client: RedisClient, queue: string, keyPrefix: string): Promise<void> {
    if (!this.defined.has(client)) {
      client.defineCommand(PRIORITIZE_QUEUE.name, {
        numberOfKeys: PRIORITIZE_QUEUE.numberOfKeys,
        lua: PRIORITIZE_QUEUE.lua,
      });
      this.defined.add(client);
    }
    const keys = FLIP_KEYS.map((type) => keyPrefix + type);
    await (client as unknown as Scripted)[PRIORITIZE_QUEUE.name]!(...keys, keyPrefix, BULL_DEFAULT_PRIORITY);
    this.prioritized.add(queue);
  }
}
