/**
 * The event queue on BullMQ: one BullMQ queue per clusterkit queue (name encoded, see
 * `bull-names.ts`), keys under `<prefix>:q:{<queue>}:*`. BullMQ's failed set is the dead-letter
 * store. Producers use the node's fail-fast command connection, so `publish` rejects with
 * `BACKEND_UNAVAILABLE` while Redis is down instead of queueing in memory. A dead letter is found by
 * record id under its encoded id (a caller-given id) or through the dead-letter index (a generated
 * one, `bull-dead-index.ts`); what an index entry names is checked before it is used.
 */
import type { Job, Queue } from 'bullmq';
import {
  type ConsumeOptions,
  type DeadLetter,
  type Delivery,
  type DeliveryOutcome,
  type EventQueueAdapter,
  type EventQueueCapabilities,
  type QueueConsumer,
  type QueueCounts,
  type QueueRecord,
  type SerializedError,
} from 'clusterkit/adapter-kit';
import { UNINDEX_DEAD } from './bull-dead-index.js';
import { bullKey, bullPrefix, bullQueueName, encodeJobId, unescapeQueue } from './bull-names.js';
import { DEAD_INDEX, isGeneratedId, recordIdOf } from './job-shape.js';
import { scanKeys as guardedScan } from './scan.js';
import { Cluster } from 'ioredis';
import { guard, type RedisConnections } from './connection.js';
import { RedisAdapterBase } from './redis-adapter-base.js';
import { DueAnnouncer } from './delay-waker.js';
import type { ResolvedQueueOptions } from './redis-event-queue-options.js';
import { QueuePublisher } from './queue-publisher.js';
import { RedisQueueConsumer } from './redis-queue-consumer.js';
import { TolerantQueue } from './tolerant-job.js';

/** BullMQ-backed event queue adapter for one node. */
export class RedisEventQueueAdapter extends RedisAdapterBase implements EventQueueAdapter {
  readonly capabilities: EventQueueCapabilities = {
    priority: true,
    delay: true,
    durable: true,
    distributed: true,
    uniqueIds: true,
  };
  private readonly queues = new Map<string, Queue>();
  private readonly consumers = new Set<RedisQueueConsumer>();
  private readonly publisher: QueuePublisher;
  private readonly due: DueAnnouncer;

  constructor(
    connections: RedisConnections,
    private readonly options: ResolvedQueueOptions,
  ) {
    super(connections, 'Redis event queue adapter');
    this.publisher = new QueuePublisher(connections, options);
    this.due = new DueAnnouncer(connections);
  }

  /** Closes the consumers, then the BullMQ queues, before the shared connections are given back. */
  protected async dropResources(): Promise<void> {
    await Promise.allSettled([...this.consumers].map((c) => c.close()));
    const queues = [...this.queues.values()];
    this.queues.clear();
    await Promise.allSettled(queues.map((q) => q.close()));
  }

  async publish(queue: string, record: QueueRecord): Promise<void> {
    const q = this.queue(queue);
    // Announced at once, with the due time the job gets (its BullMQ timestamp is this `now`), not after the add
    // resolves: under a burst the add's reply comes late, and so would the wake-up. An announcement
    // is best effort — a missed one only leaves the start to BullMQ's own wake-up — so it never
    // fails a publish whose add succeeded; one that arrives before the add wakes nobody too early
    // (the waker re-arms for the job once it is in the delayed set).
    const now = Date.now();
    if (record.delayMs > 0) this.due.announce(queue, now + record.delayMs).catch(() => {});
    await guard('publish', () => this.publisher.publish(q, queue, record, now));
  }

  /**
   * Publishes `record` and creates a job-store record in the same script call (see
   * `RedisJobStore.createWithTicket`). Undefined, nothing written, when this adapter cannot: another
   * node's connections, a Redis Cluster (the two key sets are in different slots), or BullMQ's add
   * scripts not wrappable.
   */
  async publishCreating(
    connections: RedisConnections,
    queue: string,
    record: QueueRecord,
    create: { readonly head: readonly (string | number)[]; readonly fields: readonly string[] },
  ): Promise<unknown> {
    if (connections !== this.connections || this.connections.command instanceof Cluster) return undefined;
    const q = this.queue(queue);
    const now = Date.now();
    if (record.delayMs > 0) this.due.announce(queue, now + record.delayMs).catch(() => {});
    return guard('publish', () => this.publisher.publishCreating(q, queue, record, now, create));
  }

  async consume(
    queue: string,
    options: ConsumeOptions,
    deliver: (delivery: Delivery) => Promise<DeliveryOutcome>,
  ): Promise<QueueConsumer> {
    this.assertConnected();
    const consumer = new RedisQueueConsumer(this.connections, queue, options, deliver, this.options, this.due);
    await guard('consume', () => consumer.start());
    this.consumers.add(consumer);
    return {
      close: async () => {
        this.consumers.delete(consumer);
        await consumer.close();
      },
    };
  }

  async listDeadLetters(queue: string, range: { offset: number; limit: number }): Promise<DeadLetter[]> {
    if (range.limit <= 0) return [];
    const q = this.queue(queue);
    const jobs = await guard('list dead letters', () =>
      q.getJobs(['failed'], range.offset, range.offset + range.limit - 1, true),
    );
    return jobs.filter((job): job is Job => !!job).map((job) => toDeadLetter(job));
  }

  async redrive(queue: string, ids?: readonly string[]): Promise<number> {
    const jobs = await this.deadJobs(queue, ids);
    let moved = 0;
    for (const job of jobs) {
      await guard('redrive', () => job.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true }));
      await this.unindex(queue, job);
      moved += 1;
    }
    return moved;
  }

  async deleteDeadLetters(queue: string, ids?: readonly string[]): Promise<number> {
    const jobs = await this.deadJobs(queue, ids);
    let removed = 0;
    for (const job of jobs) {
      await guard('delete dead letter', () => job.remove());
      await this.unindex(queue, job);
      removed += 1;
    }
    return removed;
  }

  /** Queues whose BullMQ `failed` set (our dead letters) is not empty: SCAN for the sets, then ZCARD. */
  async deadLetterQueues(): Promise<string[]> {
    const client = this.connections.command;
    const head = `${bullPrefix(this.connections.prefix)}:{`;
    const found: string[] = [];
    for await (const keys of guardedScan(client, head)) {
      for (const key of keys) {
        if (!key.endsWith('}:failed')) continue;
        if ((await guard('list dead-letter queues', () => client.zcard(key))) > 0)
          found.push(unescapeQueue(key.slice(head.length, -'}:failed'.length)));
      }
    }
    return found;
  }

  async counts(queue: string): Promise<QueueCounts> {
    const q = this.queue(queue);
    const c = await guard('counts', () => q.getJobCounts('wait', 'prioritized', 'delayed', 'active', 'failed'));
    return {
      waiting: (c.wait ?? 0) + (c.prioritized ?? 0),
      delayed: c.delayed ?? 0,
      active: c.active ?? 0,
      dead: c.failed ?? 0,
    };
  }

  async obliterate(queue: string): Promise<void> {
    const q = this.queue(queue);
    await guard('obliterate', () => q.obliterate({ force: true }));
    // BullMQ deletes the keys it knows of; the dead-letter index is ours.
    await guard('obliterate', () => this.connections.command.del(bullKey(this.connections.prefix, queue, DEAD_INDEX)));
    this.publisher.forget(queue);
  }

  /** Failed jobs by record id (all when `ids` is omitted); unknown or non-dead ids are skipped. */
  private async deadJobs(queue: string, ids?: readonly string[]): Promise<Job[]> {
    const q = this.queue(queue);
    if (ids === undefined) {
      const all = await guard('list dead letters', () => q.getJobs(['failed'], 0, -1, true));
      return all.filter((job): job is Job => !!job);
    }
    const unique = [...new Set(ids)];
    if (unique.length === 0) return [];
    const index = bullKey(this.connections.prefix, queue, DEAD_INDEX);
    const indexed = await guard('get dead-letter index', () => this.connections.command.hmget(index, ...unique));
    const out: Job[] = [];
    for (const [i, id] of unique.entries()) {
      // Where the record may be: its generated id (indexed), its encoded id, or — a generated-id job
      // whose body is no envelope — the BullMQ id itself.
      const candidates = [indexed[i], encodeJobId(id), isGeneratedId(id) ? id : null];
      for (const jobId of new Set(candidates)) {
        if (!jobId) continue;
        const job = await guard('get job', () => q.getJob(jobId));
        if (!job || recordIdOf(job.id!, job.data as string) !== id) continue;
        if (await guard('get job state', () => job.isFailed())) out.push(job);
        break;
      }
    }
    return out;
  }

  /** Drops the dead-letter index entry of `job` once it is no longer dead (a generated id only). */
  private async unindex(queue: string, job: Job): Promise<void> {
    if (!isGeneratedId(job.id!)) return;
    const client = this.connections.command;
    if (!(UNINDEX_DEAD.name in client)) client.defineCommand(UNINDEX_DEAD.name, UNINDEX_DEAD);
    const key = (type: string) => bullKey(this.connections.prefix, queue, type);
    const scripted = client as unknown as Record<string, (...args: string[]) => Promise<unknown>>;
    const id = recordIdOf(job.id!, job.data as string);
    await guard('unindex dead letter', () => scripted[UNINDEX_DEAD.name]!(key(DEAD_INDEX), key('failed'), id, job.id!));
  }

  private queue(name: string): Queue {
    this.assertConnected();
    let q = this.queues.get(name);
    if (!q) {
      q = new TolerantQueue(bullQueueName(name), {
        connection: this.connections.command,
        prefix: bullPrefix(this.connections.prefix),
      });
      q.on('error', (error) => this.options.onError(error, { queue: name }));
      this.queues.set(name, q);
    }
    return q;
  }
}

/** A failed BullMQ job as a dead letter; `failedReason` holds our serialized error (or BullMQ's text). */
function toDeadLetter(job: Job): DeadLetter {
  const body = job.data as string;
  return {
    id: recordIdOf(job.id!, body),
    body,
    attempt: job.attemptsMade,
    error: parseReason(job.failedReason),
    failedAt: job.finishedOn ?? job.timestamp,
  };
}

function parseReason(reason: string | undefined): SerializedError {
  if (reason?.startsWith('{')) {
    try {
      const parsed = JSON.parse(reason) as Partial<SerializedError>;
      if (typeof parsed.message === 'string') return { name: parsed.name ?? 'Error', ...parsed } as SerializedError;
    } catch {
      // not ours: BullMQ's own text (for example a job that stalled too often)
    }
  }
  return { name: 'Error', message: reason ?? 'unknown failure' };
}
