/**
 * The event queue on one table (`jobs`, see queue-sql.ts): consumers take messages with
 * `SELECT … FOR UPDATE SKIP LOCKED`, are woken by NOTIFY, lease what they take, and settle each
 * delivery with one guarded statement. Dead letters are rows in state 2. `publish` can run inside
 * the caller's own transaction (capability `transactional`): the message and its wake-up exist
 * only if that transaction commits.
 */
import type {
  ConsumeOptions,
  DeadLetter,
  Delivery,
  DeliveryOutcome,
  EventQueueAdapter,
  EventQueueCapabilities,
  PublishContext,
  QueueConsumer,
  QueueCounts,
  QueueRecord,
  SerializedError,
} from 'clusterkit/adapter-kit';
import { guard, type PgConnections } from './connection.js';
import { md5 } from './names.js';
import type { ResolvedQueueOptions } from './options.js';
import { PostgresAdapterBase } from './postgres-adapter-base.js';
import { PostgresQueueConsumer } from './postgres-queue-consumer.js';
import { queueSql, type QueueSql } from './queue-sql.js';
import { inCallerTransaction, transactionClient } from './transaction-client.js';
import { WakeSender } from './wake-sender.js';

/** PostgreSQL event-queue adapter for one node. */
export class PostgresEventQueueAdapter extends PostgresAdapterBase implements EventQueueAdapter {
  readonly capabilities: EventQueueCapabilities = {
    priority: true,
    delay: true,
    durable: true,
    distributed: true,
    uniqueIds: true,
    transactional: true,
  };
  private readonly sql: QueueSql;
  private readonly consumers = new Set<PostgresQueueConsumer>();
  private readonly waker: WakeSender;
  /** Publishes of this node on the wire (not in a caller's transaction). */
  private publishing = 0;

  constructor(
    connections: PgConnections,
    private readonly options: ResolvedQueueOptions,
  ) {
    super(connections, 'PostgreSQL event queue adapter');
    this.sql = queueSql(connections.schema);
    this.waker = new WakeSender(connections, options.onError);
  }

  protected async dropResources(): Promise<void> {
    const consumers = [...this.consumers];
    this.consumers.clear();
    await Promise.allSettled(consumers.map((c) => c.close()));
  }

  async publish(queue: string, record: QueueRecord, context?: PublishContext): Promise<void> {
    this.assertConnected();
    const values = [queue, record.id, record.body, record.priority, record.delayMs];
    const wake = record.delayMs > 0 ? `${md5(queue)}${Math.ceil(record.delayMs)}` : md5(queue);
    const notifying = [...values, this.connections.channels.queue, wake];
    if (context?.transaction !== undefined) {
      // The wake-up must not come before the caller's commit: it goes in the caller's transaction.
      const client = transactionClient(context.transaction);
      await inCallerTransaction('eventQueue.publish', () =>
        guard('publish in transaction', () => client.query(this.sql.publishNotify, notifying)),
      );
      return;
    }
    if (this.publishing === 0) {
      // Alone on this node: the NOTIFY rides in the same statement (one round trip, the lowest
      // latency). Under concurrent publishing it is sent apart and coalesced (see WakeSender).
      this.publishing += 1;
      try {
        if (this.options.durablePublish) await this.connections.query('publish', this.sql.publishNotify, notifying);
        else await this.connections.queryRelaxed('publish', this.sql.publishNotify, notifying);
      } finally {
        this.publishing -= 1;
      }
      return;
    }
    this.publishing += 1;
    try {
      const result = this.options.durablePublish
        ? await this.connections.query('publish', this.sql.publish, values)
        : await this.connections.queryRelaxed('publish', this.sql.publish, values);
      if ((result.rowCount ?? 0) > 0) this.waker.wake(md5(queue), record.delayMs);
    } finally {
      this.publishing -= 1;
    }
  }

  async consume(
    queue: string,
    options: ConsumeOptions,
    deliver: (delivery: Delivery) => Promise<DeliveryOutcome>,
  ): Promise<QueueConsumer> {
    this.assertConnected();
    const consumer = new PostgresQueueConsumer(this.connections, this.sql, queue, options, deliver, this.options);
    this.consumers.add(consumer);
    try {
      await consumer.start();
    } catch (error) {
      this.consumers.delete(consumer);
      await consumer.close();
      throw error;
    }
    return {
      close: async () => {
        this.consumers.delete(consumer);
        await consumer.close();
      },
    };
  }

  async listDeadLetters(queue: string, range: { offset: number; limit: number }): Promise<DeadLetter[]> {
    this.assertConnected();
    if (range.limit <= 0) return [];
    const { rows } = await this.connections.query<{
      id: string;
      body: string;
      attempt: number;
      error: string | null;
      failed_at: number;
    }>('list dead letters', this.sql.listDead, [queue, range.offset, range.limit]);
    return rows.map((r) => ({
      id: r.id,
      body: r.body,
      attempt: r.attempt,
      error: parseError(r.error),
      failedAt: Math.round(r.failed_at),
    }));
  }

  async redrive(queue: string, ids?: readonly string[]): Promise<number> {
    this.assertConnected();
    const result =
      ids === undefined
        ? await this.connections.query('redrive', this.sql.redriveAll, [queue])
        : await this.connections.query('redrive', this.sql.redriveIds, [queue, [...new Set(ids)]]);
    const moved = result.rowCount ?? 0;
    if (moved > 0) {
      await this.connections.query('redrive', 'SELECT pg_notify($1, $2)', [
        this.connections.channels.queue,
        md5(queue),
      ]);
    }
    return moved;
  }

  async deleteDeadLetters(queue: string, ids?: readonly string[]): Promise<number> {
    this.assertConnected();
    const result =
      ids === undefined
        ? await this.connections.query('delete dead letters', this.sql.deleteDeadAll, [queue])
        : await this.connections.query('delete dead letters', this.sql.deleteDeadIds, [queue, [...new Set(ids)]]);
    return result.rowCount ?? 0;
  }

  async counts(queue: string): Promise<QueueCounts> {
    this.assertConnected();
    const { rows } = await this.connections.query<QueueCounts>('counts', this.sql.counts, [queue]);
    return rows[0] ?? { waiting: 0, delayed: 0, active: 0, dead: 0 };
  }

  async deadLetterQueues(): Promise<string[]> {
    this.assertConnected();
    const { rows } = await this.connections.query<{ queue: string }>(
      'list dead-letter queues',
      `SELECT DISTINCT queue FROM ${this.connections.table('jobs')} WHERE state = 2`,
      [],
    );
    return rows.map((r) => r.queue);
  }

  async obliterate(queue: string): Promise<void> {
    this.assertConnected();
    await this.connections.query('obliterate', `DELETE FROM ${this.connections.table('jobs')} WHERE queue = $1`, [
      queue,
    ]);
    await this.connections.query('obliterate', `DELETE FROM ${this.connections.table('completed')} WHERE queue = $1`, [
      queue,
    ]);
  }
}

/** The stored error (our serialized JSON), or a plain one when it is something else. */
function parseError(text: string | null): SerializedError {
  if (text?.startsWith('{')) {
    try {
      const parsed = JSON.parse(text) as Partial<SerializedError>;
      if (typeof parsed.message === 'string') return { name: parsed.name ?? 'Error', ...parsed } as SerializedError;
    } catch {
      // not ours
    }
  }
  return { name: 'Error', message: text ?? 'unknown failure' };
}
