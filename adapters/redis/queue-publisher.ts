/**
 * Adds records to BullMQ queues. Three things beyond `queue.add`:
 *
 * - **Plain path for the default priority.** BullMQ runs priority-less jobs before every
 *   prioritized one, and a plain add costs the server less. A queue stays plain while it has only
 *   seen the default priority; the first other priority flips it for good (see
 *   `lua/queue-scripts.ts`), and each plain add is checked in the same MULTI, so a publisher that
 *   has not heard of the flip yet still cannot put a default job ahead of urgent ones.
 * - **A completed job never blocks its id.** For a caller-given id the same MULTI first moves a
 *   completed job with that id aside (kept in the history under another id), so BullMQ does not
 *   mistake the new message for a duplicate. Waiting, delayed, active and dead jobs still block it.
 * - Everything a publish writes is one MULTI: nothing is half-done after a crash.
 */
import type { Queue } from 'bullmq';
import { DEFAULT_PRIORITY, type QueueRecord } from 'clusterkit';
import { bullKey, encodeJobId } from './bull-names.js';
import type { RedisClient, RedisConnections } from './connection.js';
import {
  AFTER_PLAIN_ADD,
  BULL_DEFAULT_PRIORITY,
  PRIORITIZE_QUEUE,
  REUSE_ID,
  type QueueScript,
} from './lua/queue-scripts.js';
import type { ResolvedQueueOptions } from './redis-event-queue-options.js';
import { TolerantJob } from './tolerant-job.js';

/** BullMQ's largest priority. */
const BULL_MAX_PRIORITY = 2_097_151;
/** "Unlimited" BullMQ attempts: the manager decides when to give up. */
const ATTEMPTS = 1_000_000_000;

type Scripted = Record<string, (...args: (string | number)[]) => unknown>;

/** The adds of one node. */
export class QueuePublisher {
  /** Queues this node knows to be prioritized (a flip is never undone, except by obliterate). */
  private readonly prioritized = new Set<string>();
  private readonly defined = new WeakSet<object>();

  constructor(
    private readonly connections: RedisConnections,
    private readonly options: ResolvedQueueOptions,
  ) {}

  /** Adds `record` to BullMQ queue `q` (our queue `queue`). Resolves once Redis has executed it. */
  async publish(q: Queue, queue: string, record: QueueRecord): Promise<void> {
    if (record.priority !== DEFAULT_PRIORITY && !this.prioritized.has(queue)) await this.prioritize(queue);
    const plain = !this.prioritized.has(queue);
    const jobId = encodeJobId(record.id);
    const opts = {
      jobId,
      // BullMQ's 0 means "none" and runs first, so our levels (from 0) are shifted by one. The manager
      // accepts up to 2,097,150, so the shifted levels stay distinct within BullMQ's range.
      priority: plain ? 0 : Math.min(record.priority + 1, BULL_MAX_PRIORITY),
      delay: record.delayMs,
      attempts: ATTEMPTS,
      backoff: { type: 'clusterkit' },
      removeOnComplete: this.options.keepCompleted,
      removeOnFail: this.options.keepDead,
    };
    if (!plain && !record.callerId) {
      await q.add('m', record.body, opts);
      return;
    }
    const client = await q.getBackend().client;
    this.define(this.connections.command);
    const multi = client.multi();
    const key = (type: string) => bullKey(this.connections.prefix, queue, type);
    const jobKey = key(jobId);
    const scripted = multi as unknown as Scripted;
    if (record.callerId) scripted[REUSE_ID.name]!(key('completed'), jobKey, key('id'), jobId);
    // Queues BullMQ's add script on the MULTI synchronously; its own promise resolves at once.
    void new TolerantJob(q, 'm', record.body, opts, jobId).addJob(multi).catch(() => {});
    if (plain) {
      const keys = [key('meta'), key('wait'), key('prioritized'), key('pc'), jobKey, key('marker')];
      scripted[AFTER_PLAIN_ADD.name]!(...keys, jobId, BULL_DEFAULT_PRIORITY);
    }
    const replies = (await multi.exec()) ?? [];
    for (const [error] of replies) if (error) throw error;
    const added = replies[record.callerId ? 1 : 0]?.[1];
    if (typeof added === 'number' && added < 0) throw new Error(`BullMQ refused the add (code ${added})`);
    if (plain && replies[replies.length - 1]?.[1] === 1) this.prioritized.add(queue);
  }

  /** Forgets what this node knew of `queue` (after obliterate). */
  forget(queue: string): void {
    this.prioritized.delete(queue);
  }

  /** Flips `queue` to prioritized (idempotent across nodes) and remembers it. */
  private async prioritize(queue: string): Promise<void> {
    const client = this.connections.command;
    this.define(client);
    const key = (type: string) => bullKey(this.connections.prefix, queue, type);
    const keys = ['meta', 'wait', 'paused', 'prioritized', 'pc', 'delayed', 'active', 'failed', 'marker'].map(key);
    await (client as unknown as Scripted)[PRIORITIZE_QUEUE.name]!(...keys, key(''), BULL_DEFAULT_PRIORITY);
    this.prioritized.add(queue);
  }

  /** Defines the scripts on `client` once (ioredis then sends EVALSHA, loading a script when needed). */
  private define(client: RedisClient): void {
    if (this.defined.has(client)) return;
    for (const script of [REUSE_ID, AFTER_PLAIN_ADD, PRIORITIZE_QUEUE] as QueueScript[]) {
      client.defineCommand(script.name, { numberOfKeys: script.numberOfKeys, lua: script.lua });
    }
    this.defined.add(client);
  }
}
