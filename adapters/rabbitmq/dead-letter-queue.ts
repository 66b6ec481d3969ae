/**
 * Dead letters live in a classic queue per work queue. AMQP cannot browse a queue, so listing uses
 * the get + requeue pattern on a channel of its own: it takes the first `offset + limit` messages
 * without acking them, reads them, and closing the channel puts every one back (classic queues
 * requeue to the original position, so order holds). A stream would be browsable but cannot delete
 * single entries; a quorum queue requeues to the back and counts each requeue as a delivery.
 * Operations on one dead-letter queue are serialized per adapter instance.
 */
import type { Channel, GetMessage } from 'amqplib';
import type { DeadLetter } from 'clusterkit/adapter-kit';
import type { RabbitMQConnection } from './connection.js';
import { bodyText, deadLetterError, deadLetterTime, H_ATTEMPT, intHeader } from './message-format.js';
import { clusterPriority, type RecordSender } from './record-sender.js';
import type { QueueNames } from './topology.js';

/** The dead-letter operations of the event-queue adapter. */
export class DeadLetterQueue {
  private readonly locks = new Map<string, Promise<unknown>>();

  constructor(
    private readonly connection: RabbitMQConnection,
    private readonly sender: RecordSender,
  ) {}

  /** Dead letters `offset .. offset + limit - 1`, oldest first; nothing is consumed. */
  list(names: QueueNames, offset: number, limit: number): Promise<DeadLetter[]> {
    return this.exclusive(names, [], (channel) => this.listOn(channel, names, offset, limit));
  }

  /** Sends dead letters (all, or those with `ids`) back to the work queue with attempt 0. */
  redrive(names: QueueNames, ids?: readonly string[]): Promise<number> {
    const wanted = ids === undefined ? undefined : new Set(ids);
    return this.exclusive(names, 0, async (channel) => {
      let moved = 0;
      for (;;) {
        const message = await channel.get(names.dead, { noAck: false });
        if (message === false) return moved;
        const id = idOf(message);
        // Not wanted: keep holding it (unacked) so the scan moves on; the channel close requeues it.
        if (wanted && (id === undefined || !wanted.has(id))) continue;
        await this.sender.send(names, {
          id: id ?? `amqp-redrive-${message.fields.deliveryTag}`,
          content: message.content,
          priority: clusterPriority(message),
        });
        channel.ack(message);
        moved += 1;
      }
    });
  }

  /** Deletes dead letters (all, or those with `ids`); returns how many. */
  delete(names: QueueNames, ids?: readonly string[]): Promise<number> {
    return this.exclusive(names, 0, async (channel) => {
      if (ids === undefined) return (await channel.purgeQueue(names.dead)).messageCount;
      const wanted = new Set(ids);
      let deleted = 0;
      for (;;) {
        const message = await channel.get(names.dead, { noAck: false });
        if (message === false) return deleted;
        const id = idOf(message);
        if (id !== undefined && wanted.has(id)) {
          channel.ack(message);
          deleted += 1;
        }
      }
    });
  }

  private async listOn(channel: Channel, names: QueueNames, offset: number, limit: number): Promise<DeadLetter[]> {
    const out: DeadLetter[] = [];
    for (let index = 0; index < offset + limit; index++) {
      const message = await channel.get(names.dead, { noAck: false });
      if (message === false) break;
      if (index < offset) continue;
      out.push({
        id: idOf(message) ?? `amqp-${message.fields.deliveryTag}`,
        body: bodyText(message) ?? message.content.toString('base64'),
        attempt: intHeader(message.properties, H_ATTEMPT, 0),
        error: deadLetterError(message),
        failedAt: deadLetterTime(message),
      });
    }
    return out;
  }

  /**
   * Runs `fn` on a fresh channel for `names.dead`, one at a time per queue; closing the channel
   * afterwards requeues whatever `fn` got and did not ack. A missing queue means no dead letters.
   */
  private async exclusive<T>(names: QueueNames, empty: T, fn: (channel: Channel) => Promise<T>): Promise<T> {
    const previous = this.locks.get(names.dead) ?? Promise.resolve();
    const run = previous
      .catch(() => {})
      .then(async () => {
        const channel = await this.connection.channel();
        try {
          await channel.checkQueue(names.dead);
        } catch (error) {
          if ((error as { code?: unknown }).code === 404) return empty;
          throw error;
        }
        try {
          return await fn(channel);
        } finally {
          // Bounded: a close that never gets its CloseOk must not wedge this queue's lock.
          await this.connection.guard.closeChannel(channel);
        }
      });
    this.locks.set(names.dead, run);
    try {
      return await run;
    } finally {
      if (this.locks.get(names.dead) === run) this.locks.delete(names.dead);
    }
  }
}

function idOf(message: GetMessage): string | undefined {
  const id = message.properties.messageId as unknown;
  return typeof id === 'string' && id !== '' ? id : undefined;
}
