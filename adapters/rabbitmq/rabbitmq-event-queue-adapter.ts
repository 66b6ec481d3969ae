/**
 * The RabbitMQ event-queue adapter: durable (quorum by default) work queues, confirmed persistent
 * publishes, delays and retries through TTL delay levels, a dead-letter queue per work queue, and
 * consumers that re-attach after reconnects. See docs/rabbitmq.md for topology and guarantees.
 */
import type { Channel } from 'amqplib';
import {
  ClusterError,
  ErrorCodes,
  type ConsumeOptions,
  type DeadLetter,
  type Delivery,
  type DeliveryOutcome,
  type EventQueueAdapter,
  type EventQueueCapabilities,
  type QueueConsumer,
  type QueueCounts,
  type QueueRecord,
} from 'clusterkit/adapter-kit';
import { ConfirmPublisher } from './confirm-publisher.js';
import type { RabbitMQConnection } from './connection.js';
import { DeadLetterQueue } from './dead-letter-queue.js';
import { RabbitMQQueueConsumer } from './rabbitmq-queue-consumer.js';
import { RecordSender, type OutgoingRecord } from './record-sender.js';
import { allQueueNames, MAX_DELAY_LEVEL, queueNames, type QueueNames, type WorkQueueSettings } from './topology.js';

/** Event-queue adapter over a shared {@link RabbitMQConnection}. One instance per node. */
export class RabbitMQEventQueueAdapter implements EventQueueAdapter {
  /**
   * Delays, durability and competing consumers always; priority only on classic work queues
   * (`queueType: 'classic'`): RabbitMQ 3.x quorum queues have no priorities. No `uniqueIds`:
   * AMQP 0-9-1 has no atomic "store if this id is absent", so a repeated `jobId` is a second message.
   */
  readonly capabilities: EventQueueCapabilities;
  private readonly publisher: ConfirmPublisher;
  private readonly sender: RecordSender;
  private readonly deadLetters: DeadLetterQueue;
  private readonly consumers = new Set<RabbitMQQueueConsumer>();
  /** Deliveries in flight on this node, per work queue (AMQP cannot count other nodes' unacked messages). */
  private readonly active = new Map<string, number>();
  /** Every queue this instance declared or touched, for tests and tooling that clean up by name. */
  readonly touchedQueues = new Set<string>();
  private readonly namesOf = new Map<string, QueueNames>();
  private connected = false;

  constructor(
    private readonly connection: RabbitMQConnection,
    private readonly prefix: string,
    settings: WorkQueueSettings,
  ) {
    this.publisher = new ConfirmPublisher(connection);
    this.sender = new RecordSender(this.publisher, settings);
    this.deadLetters = new DeadLetterQueue(connection, this.sender);
    this.capabilities = Object.freeze({
      priority: settings.type === 'classic',
      delay: true,
      durable: true,
      distributed: true,
      uniqueIds: false,
      ...(settings.type === 'classic'
        ? {}
        : {
            hints: {
              priority:
                "RabbitMQ quorum queues (the default queueType) have no message priority; create the adapters with queueType: 'classic' for priorities (a queue's type cannot change once it exists: use a new prefix)",
            },
          }),
    });
  }

  /** Opens (or shares) the connection. */
  async connect(): Promise<void> {
    if (this.connected) return;
    await this.connection.acquire();
    this.connected = true;
  }

  /** Closes consumers still open, the channels, and releases the connection. */
  async close(): Promise<void> {
    if (!this.connected) return;
    this.connected = false;
    await Promise.all([...this.consumers].map((c) => c.close()));
    this.consumers.clear();
    await this.publisher.close();
    await this.connection.release();
  }

  /** Resolves once the broker confirmed the persistent message (work queue, or delay level if delayed). */
  publish(queue: string, record: QueueRecord): Promise<void> {
    // Not async: one suspended frame less per publish in flight (see ConfirmPublisher.publish).
    const content = Buffer.from(record.body, 'utf8');
    // No spread of an optional `deliverAt`: one object per publish.
    const outgoing: OutgoingRecord =
      record.delayMs >= 1
        ? { id: record.id, content, priority: record.priority, deliverAt: Date.now() + record.delayMs }
        : { id: record.id, content, priority: record.priority };
    return this.sender.send(this.names(queue), outgoing);
  }

  /** A consumer with its own channel; prefetch = `concurrency`. */
  async consume(
    queue: string,
    options: ConsumeOptions,
    deliver: (delivery: Delivery) => Promise<DeliveryOutcome>,
  ): Promise<QueueConsumer> {
    this.assertConnected('consume');
    const names = this.names(queue);
    const consumer = new RabbitMQQueueConsumer(this.connection, this.sender, names, options, deliver, (delta) =>
      this.active.set(names.main, (this.active.get(names.main) ?? 0) + delta),
    );
    await consumer.start().catch(async (error: unknown) => {
      await consumer.close();
      throw error;
    });
    this.consumers.add(consumer);
    return {
      close: async () => {
        this.consumers.delete(consumer);
        await consumer.close();
      },
    };
  }

  async listDeadLetters(queue: string, range: { offset: number; limit: number }): Promise<DeadLetter[]> {
    this.assertConnected('listDeadLetters');
    const names = this.names(queue);
    return this.connection.retrying('listDeadLetters', () => this.deadLetters.list(names, range.offset, range.limit));
  }

  async redrive(queue: string, ids?: readonly string[]): Promise<number> {
    this.assertConnected('redrive');
    const names = this.names(queue);
    return this.connection.retrying('redrive', () => this.deadLetters.redrive(names, ids));
  }

  async deleteDeadLetters(queue: string, ids?: readonly string[]): Promise<number> {
    this.assertConnected('deleteDeadLetters');
    const names = this.names(queue);
    return this.connection.retrying('deleteDeadLetters', () => this.deadLetters.delete(names, ids));
  }

  /**
   * `waiting`: ready messages of the work queue; `delayed`: messages in its delay levels; `dead`:
   * its dead letters; `active`: deliveries in flight on THIS node (AMQP 0-9-1 does not report
   * other consumers' unacked messages; the management API does).
   */
  async counts(queue: string): Promise<QueueCounts> {
    this.assertConnected('counts');
    const names = this.names(queue);
    return this.connection.retrying('counts', () => this.countsOf(names));
  }

  private async countsOf(names: QueueNames): Promise<QueueCounts> {
    const channel = await this.connection.channel();
    const probe = { channel };
    try {
      const waiting = await this.messageCount(probe, names.main);
      const dead = await this.messageCount(probe, names.dead);
      let delayed = 0;
      for (let level = 0; level <= MAX_DELAY_LEVEL; level++)
        delayed += await this.messageCount(probe, names.delay(level));
      return { waiting, delayed, active: this.active.get(names.main) ?? 0, dead };
    } finally {
      await this.connection.guard.closeChannel(probe.channel);
    }
  }

  /** Deletes the work queue, its dead letters and every delay level. */
  async obliterate(queue: string): Promise<void> {
    this.assertConnected('obliterate');
    const names = this.names(queue);
    await this.connection.retrying('obliterate', () =>
      this.publisher.withTopologyChannel(async (channel) => {
        for (const name of allQueueNames(names)) await channel.deleteQueue(name);
      }),
    );
    this.publisher.forget('');
  }

  /** The physical names of `queue`, computed once per logical queue (this runs on every publish). */
  private names(queue: string): QueueNames {
    let names = this.namesOf.get(queue);
    if (names === undefined) {
      names = queueNames(this.prefix, queue);
      this.namesOf.set(queue, names);
      for (const name of allQueueNames(names)) this.touchedQueues.add(name);
    }
    return names;
  }

  /** A queue's ready-message count, 0 if it does not exist (a 404 closes the probe channel: reopen). */
  private async messageCount(probe: { channel: Channel }, name: string): Promise<number> {
    try {
      return (await probe.channel.checkQueue(name)).messageCount;
    } catch (error) {
      if ((error as { code?: unknown }).code !== 404) throw error;
      probe.channel = await this.connection.channel();
      return 0;
    }
  }

  private assertConnected(call: string): void {
    if (!this.connected) {
      throw new ClusterError(ErrorCodes.NOT_CONNECTED, `RabbitMQ event-queue adapter: ${call}() before connect()`);
    }
  }
}
