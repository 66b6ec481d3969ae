/**
 * Every way a record enters a queue — first publish, retry, release, re-delay, dead-letter,
 * redrive — goes through {@link RecordSender.send}: declare what the target needs (once per
 * connection), then a confirmed, persistent publish.
 *
 * Delays: a message due in D ms goes to delay level L = floor(log2 D) (TTL 2^L ms, FIFO with one TTL
 * per queue, so no head-of-line blocking), then the broker dead-letters it back into the work
 * queue. The consumer sees `x-ck-deliver-at` still in the future and sends it to the level of the
 * remaining time: at most ~log2(D) hops, never early, a fixed number of queues per logical queue.
 */
import type { Channel, Message } from 'amqplib';
import type { SerializedError } from 'clusterkit/adapter-kit';
import type { ConfirmPublisher, PublishTarget } from './confirm-publisher.js';
import {
  amqpPriority,
  H_ATTEMPT,
  H_DELIVER_AT,
  H_ERROR,
  H_FAILED_AT,
  H_QUEUE,
  ownHeaders,
  publishOptions,
} from './message-format.js';
import {
  DEAD_QUEUE_OPTIONS,
  declareWorkQueue,
  delayLevel,
  delayQueueOptions,
  type QueueNames,
  type WorkQueueSettings,
} from './topology.js';

/** What to send. */
export interface OutgoingRecord {
  readonly id: string;
  readonly content: Buffer;
  /** Our `x-ck-*` headers; none (or attempt 0 only) on a first publish. */
  readonly headers?: Record<string, unknown>;
  /** clusterkit priority (lower first); only classic work queues use it. */
  readonly priority?: number;
  /** Absolute epoch ms before which it must not be handled; absent or past = now. */
  readonly deliverAt?: number;
}

/**
 * What a publish to a work queue needs that does not change between messages (built once per
 * queue): the target, the declaration key and the `prepare` step. Per message that saved a
 * template string (hashed again on every lookup) and two closures.
 */
interface WorkQueuePlan {
  readonly target: PublishTarget;
  readonly key: string;
  readonly declare: (channel: Channel) => Promise<unknown>;
  readonly prepare: () => Promise<void> | undefined;
}

/** Declares and publishes records for the event-queue adapter and its consumers. */
export class RecordSender {
  private readonly plans = new WeakMap<QueueNames, WorkQueuePlan>();

  constructor(
    private readonly publisher: ConfirmPublisher,
    readonly settings: WorkQueueSettings,
  ) {}

  /** Declares the work queue and its dead-letter queue (once per connection); undefined once done. */
  ensureQueue(names: QueueNames): Promise<void> | undefined {
    const plan = this.plan(names);
    return this.publisher.ensure(plan.key, plan.declare);
  }

  private plan(names: QueueNames): WorkQueuePlan {
    let plan = this.plans.get(names);
    if (plan === undefined) {
      const key = `q:${names.main}`;
      const declare = (channel: Channel): Promise<unknown> => declareWorkQueue(channel, names, this.settings);
      plan = {
        target: { exchange: '', routingKey: names.main },
        key,
        declare,
        prepare: () => this.publisher.ensure(key, declare),
      };
      this.plans.set(names, plan);
    }
    return plan;
  }

  /** Publishes to the work queue, or to a delay level when `deliverAt` is in the future. */
  send(names: QueueNames, record: OutgoingRecord): Promise<void> {
    if (record.headers === undefined && record.deliverAt === undefined) {
      // A first publish due now: everything but the options is the queue's plan.
      const plan = this.plan(names);
      const priority =
        this.settings.type === 'classic' && record.priority !== undefined ? amqpPriority(record.priority) : undefined;
      return this.publisher.publish(
        plan.target,
        record.content,
        publishOptions(record.id, undefined, priority),
        plan.prepare,
      );
    }
    const remaining = record.deliverAt === undefined ? 0 : record.deliverAt - Date.now();
    // A first publish carries no headers at all: a headers table is the costliest part of a small
    // message for the broker (docs/performance.md), and a missing `x-ck-attempt` reads as 0.
    let headers: Record<string, unknown> | undefined;
    if (record.headers) {
      headers = { ...record.headers };
      delete headers[H_DELIVER_AT];
      if (headers[H_ATTEMPT] === 0) delete headers[H_ATTEMPT];
    }
    let target = names.main;
    let prepare = () => this.ensureQueue(names);
    if (remaining >= 1) {
      const level = delayLevel(remaining);
      // A message leaving its own queue says which one it belongs to.
      headers = { ...headers, [H_DELIVER_AT]: record.deliverAt, [H_QUEUE]: names.logical };
      target = names.delay(level);
      prepare = async () => {
        // The work queue first: it is where the delay level dead-letters to.
        await this.ensureQueue(names);
        await this.publisher.ensure(`d:${target}`, (channel) =>
          channel.assertQueue(target, delayQueueOptions(names, level)),
        );
      };
    }
    const priority =
      this.settings.type === 'classic' && record.priority !== undefined ? amqpPriority(record.priority) : undefined;
    // Returned, not awaited: one suspended frame less per publish in flight (see ConfirmPublisher.publish).
    return this.publisher.publish(
      { exchange: '', routingKey: target },
      record.content,
      publishOptions(record.id, headers, priority),
      prepare,
    );
  }

  /** Sends a delivered message on again (retry, release, re-delay) with our headers and `attempt`. */
  resend(names: QueueNames, message: Message, id: string, attempt: number, deliverAt?: number): Promise<void> {
    return this.send(names, {
      id,
      content: message.content,
      headers: ownHeaders(message, { [H_ATTEMPT]: attempt }),
      priority: clusterPriority(message),
      ...(deliverAt === undefined ? {} : { deliverAt }),
    });
  }

  /** Moves a message into the dead-letter queue with the reason in its headers. */
  async deadLetter(
    names: QueueNames,
    message: Message,
    id: string,
    attempt: number,
    error: SerializedError,
  ): Promise<void> {
    const headers = ownHeaders(message, {
      [H_ATTEMPT]: attempt,
      [H_ERROR]: JSON.stringify(error),
      [H_FAILED_AT]: Date.now(),
      [H_QUEUE]: names.logical,
    });
    const priority = message.properties.priority as number | undefined;
    await this.publisher.publish(
      { exchange: '', routingKey: names.dead },
      message.content,
      publishOptions(id, headers, priority),
      () => this.publisher.ensure(`x:${names.dead}`, (channel) => channel.assertQueue(names.dead, DEAD_QUEUE_OPTIONS)),
    );
  }
}

/** The clusterkit priority a message was published with (classic queues), if any. */
export function clusterPriority(message: Message): number | undefined {
  const p = message.properties.priority as unknown;
  return typeof p === 'number' ? Math.max(0, 10 - p) : undefined;
}
