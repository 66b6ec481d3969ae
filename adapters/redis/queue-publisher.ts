/**
 * Adds records to BullMQ queues, one atomic script call per publish (BullMQ's add, wrapped: see
 * `bull-add-scripts.ts`). Beyond `queue.add`:
 *
 * - **Plain path for the default priority.** BullMQ runs priority-less jobs before every
 *   prioritized one, and a plain job costs the server less. A queue stays plain while it has only
 *   seen the default priority; the first other priority flips it for good (`PRIORITIZE_QUEUE`), and
 *   every plain add checks for the flip in the same script, so a publisher that has not heard of it
 *   yet still cannot put a default job ahead of urgent ones.
 * - **A completed job never blocks its id.** For a caller-given id the same script first moves a
 *   completed job with that id aside (kept in the history under another id), so BullMQ does not
 *   mistake the new message for a duplicate. Waiting, delayed, active and dead jobs still block it.
 */
import type { JobsOptions, Queue } from 'bullmq';
import { DEFAULT_PRIORITY, type QueueRecord } from 'clusterkit/adapter-kit';
import { wrapAddScripts, wrappingClient, type WrappedAdds } from './bull-add-scripts.js';
import { bullKey, encodeJobId } from './bull-names.js';
import type { RedisClient, RedisConnections } from './connection.js';
import { canIndexDeadLetters } from './bull-dead-index.js';
import { BULL_DEFAULT_PRIORITY, REUSE_ID, type QueueScript } from './lua/queue-scripts.js';
import { QueuePrioritizer } from './queue-prioritizer.js';
import type { ResolvedQueueOptions } from './redis-event-queue-options.js';
import { retriesDecidedByJob, StoredJob } from './tolerant-job.js';

/** BullMQ's largest priority. */
const BULL_MAX_PRIORITY = 2_097_151;
/** "Unlimited" BullMQ attempts, for a BullMQ whose job class cannot decide retries (see `tolerant-job.ts`). */
const ATTEMPTS = 1_000_000_000;
/** Jobs need no `attempts`/`backoff`: the consumer's job class decides retries. */
const RETRIES_BY_JOB = retriesDecidedByJob();

type Scripted = Record<string, (...args: (string | number)[]) => Promise<unknown>>;
type AddClient = Parameters<StoredJob['addJob']>[0];

/** The adds of one node. */
export class QueuePublisher {
  /** Queues this node flipped or saw flipped, and the flip (queue-prioritizer.ts). */
  private readonly prioritized = new QueuePrioritizer();
  /** Per connection: the wrapped add commands, or null when BullMQ's scripts could not be wrapped. */
  private readonly wrapped = new WeakMap<object, WrappedAdds | null>();
  private readonly defined = new WeakSet<object>();
  /** Per connection: BullMQ's scripts let dead letters of generated ids be indexed (`bull-dead-index.ts`). */
  private readonly indexable = new WeakMap<object, boolean>();

  /** @param wrap false forces the fallback (tests of it); the wrapped scripts are used when available otherwise. */
  constructor(
    private readonly connections: RedisConnections,
    private readonly options: ResolvedQueueOptions,
    private readonly wrap = true,
  ) {}

  /**
   * Adds `record` to BullMQ queue `q` (our queue `queue`). Resolves once Redis has executed it.
   * @param timestamp the job's BullMQ timestamp (epoch ms): a delayed job is due at `timestamp + delayMs`.
   */
  async publish(q: Queue, queue: string, record: QueueRecord, timestamp = Date.now()): Promise<void> {
    const client = this.connections.command;
    // BullMQ defines its scripts on the connection when the queue's backend first connects.
    await q.getBackend().client;
    const adds = this.addsOf(client);
    // Without the wrapped scripts there is no safe plain path: every job is prioritized, and the queue
    // is marked so, so that nodes which do wrap (another BullMQ version) stop adding plain jobs too.
    const flip = record.priority !== DEFAULT_PRIORITY || adds === undefined;
    if (flip && !this.prioritized.has(queue)) await this.prioritize(queue);
    const plain = !this.prioritized.has(queue);
    // Without a caller-given id BullMQ generates one (no existence check, shorter keys); the record id
    // is in the envelope. That needs the wrapped adds and the dead-letter index.
    const generated = !record.callerId && adds !== undefined && this.canIndex(client);
    const job = this.jobOf(q, record, plain, timestamp, generated);
    if (adds !== undefined) {
      const through = wrappingClient(client, adds, record.callerId === true, BULL_DEFAULT_PRIORITY);
      await job.addJob(through as unknown as AddClient);
    } else if (!record.callerId) {
      await job.addJob((await q.getBackend().client) as AddClient);
    } else {
      await this.addReusingId(q, queue, job, encodeJobId(record.id));
    }
  }

  /**
   * Adds `record` and, in the same script call, creates a job-store record (`create`: the record
   * step's arguments from the job store prefix on, see `lua/fused-create.ts`, without the sent
   * priority). Returns the script's answer, or undefined — nothing written — when BullMQ's add
   * scripts could not be wrapped.
   *
   * The job (a managed job's ticket) is not kept once acknowledged: the record is the job's history,
   * and a kept ticket would not deduplicate anything (an acknowledged job never blocks its id), while
   * keeping it costs every acknowledgement the trim of the completed set and a removal.
   */
  async publishCreating(
    q: Queue,
    queue: string,
    record: QueueRecord,
    timestamp: number,
    create: { readonly head: readonly (string | number)[]; readonly fields: readonly string[] },
  ): Promise<unknown> {
    const client = this.connections.command;
    await q.getBackend().client;
    const adds = this.addsOf(client);
    if (adds === undefined) return undefined;
    if (record.priority !== DEFAULT_PRIORITY && !this.prioritized.has(queue)) await this.prioritize(queue);
    const plain = !this.prioritized.has(queue);
    const sent = plain ? 0 : this.bullPriority(record.priority);
    const through = wrappingClient(client, adds, record.callerId === true, BULL_DEFAULT_PRIORITY, [
      ...create.head,
      BULL_MAX_PRIORITY,
      sent,
      ...create.fields,
    ]);
    const job = this.jobOf(q, record, plain, timestamp, false, false);
    const reply = await job.addJob(through as unknown as AddClient);
    // The backlog demoted a plain ticket: the script turned the queue prioritized (once, for good).
    if (Array.isArray(reply) && reply[2] === 'flipped') this.prioritized.mark(queue);
    return reply;
  }

  /** BullMQ's 0 means "none" and runs first, so our levels (from 0) are shifted by one. */
  private bullPriority(priority: number): number {
    return Math.min(priority + 1, BULL_MAX_PRIORITY);
  }

  /**
   * The BullMQ job of `record` (see `job-shape.ts`): retention, and `priority`/`delay` only when set.
   * @param generated leave the id to BullMQ (the record id stays in the envelope)
   * @param keepCompleted keep the job once acknowledged, per `keepCompleted` (false: removed at once)
   */
  private jobOf(
    q: Queue,
    record: QueueRecord,
    plain: boolean,
    timestamp: number,
    generated: boolean,
    keepCompleted = true,
  ): StoredJob {
    const opts: JobsOptions = {
      removeOnComplete: keepCompleted ? this.options.keepCompleted : true,
      removeOnFail: this.options.keepDead,
    };
    // BullMQ's 0 means "none" and runs first, so our levels (from 0) are shifted by one. The manager
    // accepts up to 2,097,150, so the shifted levels stay distinct within BullMQ's range.
    if (!plain) opts.priority = this.bullPriority(record.priority);
    if (record.delayMs > 0) opts.delay = record.delayMs;
    if (!RETRIES_BY_JOB) {
      opts.attempts = ATTEMPTS;
      opts.backoff = { type: 'clusterkit' };
    }
    return new StoredJob(q, record.body, opts, timestamp, generated ? undefined : encodeJobId(record.id));
  }

  /** Whether dead letters of generated ids can be indexed on `client`'s BullMQ (cached per connection). */
  private canIndex(client: RedisClient): boolean {
    let can = this.indexable.get(client);
    if (can === undefined) {
      can = RETRIES_BY_JOB && canIndexDeadLetters(client);
      this.indexable.set(client, can);
    }
    return can;
  }

  /** Forgets what this node knew of `queue` (after obliterate). */
  forget(queue: string): void {
    this.prioritized.forget(queue);
  }

  /** The fallback for a caller-given id: free a completed job's id and add, in one MULTI. */
  private async addReusingId(q: Queue, queue: string, job: StoredJob, jobId: string): Promise<void> {
    this.define(this.connections.command);
    const multi = (await q.getBackend().client).multi();
    const key = (type: string) => bullKey(this.connections.prefix, queue, type);
    void (multi as unknown as Scripted)[REUSE_ID.name]!(key('completed'), key(jobId), key('id'), jobId);
    // Queues BullMQ's add script on the MULTI synchronously; its promise settles once queued (or
    // rejects when BullMQ could not queue it: then the MULTI must not count as a publish).
    const queued = job.addJob(multi);
    queued.catch(() => {});
    const replies = (await multi.exec()) ?? [];
    await queued;
    if (replies.length !== 2) throw new Error(`the publish MULTI ran ${replies.length} of 2 commands`);
    for (const [error] of replies) if (error) throw error;
    const added = replies[1]?.[1];
    if (typeof added === 'number' && added < 0) throw new Error(`BullMQ refused the add (code ${added})`);
  }

  /** Flips `queue` to prioritized (idempotent across nodes; see queue-prioritizer.ts). */
  private prioritize(queue: string): Promise<void> {
    return this.prioritized.prioritize(this.connections.command, queue, bullKey(this.connections.prefix, queue, ''));
  }

  private addsOf(client: RedisClient): WrappedAdds | undefined {
    if (!this.wrap) return undefined;
    let adds = this.wrapped.get(client);
    if (adds === undefined) {
      adds = wrapAddScripts(client) ?? null;
      this.wrapped.set(client, adds);
    }
    return adds ?? undefined;
  }

  /** Defines our scripts on `client` once (ioredis then sends EVALSHA, loading a script when needed). */
  private define(client: RedisClient): void {
    if (this.defined.has(client)) return;
    for (const script of [REUSE_ID] as QueueScript[]) {
      client.defineCommand(script.name, { numberOfKeys: script.numberOfKeys, lua: script.lua });
    }
    this.defined.add(client);
  }
}
