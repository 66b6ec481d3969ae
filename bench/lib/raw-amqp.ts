/**
 * The raw amqplib baselines: a durable quorum work queue fed through a ConfirmChannel (each publish
 * resolves on the broker's confirm, `drain` respected) and drained by a consumer with prefetch and a
 * manual ack after the handler resolves; and a fanout exchange for pub/sub.
 */
import amqp, { type Channel, type ChannelModel, type ConfirmChannel, type ConsumeMessage, type Options } from 'amqplib';
import { AMQP_URL, deleteRabbitObjects, randomName } from './services.js';

/** Publishes on a confirm channel; the promise resolves on the broker's ack. Waits for `drain` when the socket is full. */
export function confirmedPublisher(channel: ConfirmChannel) {
  let drained: Promise<void> | undefined;
  return async (queue: string, content: Buffer, options: Options.Publish): Promise<void> => {
    while (drained) await drained;
    await new Promise<void>((resolve, reject) => {
      const ok = channel.sendToQueue(queue, content, options, (err) =>
        err ? reject(err instanceof Error ? err : new Error(String(err))) : resolve(),
      );
      if (!ok && !drained) {
        drained = new Promise<void>((r) => channel.once('drain', () => r())).then(() => {
          drained = undefined;
        });
      }
    });
  };
}

/**
 * How raw messages look: `plain` is what an amqplib user writes; `clusterkit` copies the RabbitMQ
 * adapter's first publish (envelope-sized body, its properties, `mandatory`) to size how much
 * of a gap is the message itself.
 */
export type MessageShape = 'plain' | 'clusterkit';

function shapeOf(
  shape: MessageShape,
  queue: string,
  i: number,
  content: Buffer,
): { content: Buffer; options: Options.Publish } {
  if (shape === 'plain') return { content, options: { persistent: true, contentType: 'application/json' } };
  // The RabbitMQ adapter's first publish: the envelope as body, `messageId` (the record id),
  // `mandatory`, no headers (retries, delays and dead letters carry `x-ck-*` headers; first publishes do not).
  const id = `${queue}-0f3c2a1e-5b7d-4c8e-${i}`;
  const body = `{"v":1,"id":"${id}","publishedAt":${Date.now()},"message":${content.toString()}}`;
  return {
    content: Buffer.from(body),
    options: { persistent: true, mandatory: true, messageId: id, contentType: 'application/json' },
  };
}

/** A raw work queue with a consumer. */
export interface RawWorkQueue {
  publish(content: Buffer): Promise<void>;
  close(): Promise<void>;
}

/**
 * Declares a quorum work queue with the same arguments clusterkit's RabbitMQ adapter uses (delivery
 * limit, at-least-once dead-lettering into a classic queue, reject-publish overflow), and consumes it
 * with `prefetch` and a manual ack after `handle` resolves.
 */
export async function startRawWorkQueue(
  prefetch: number,
  handle: (body: unknown) => Promise<void>,
  shape: MessageShape = 'plain',
): Promise<RawWorkQueue> {
  const queue = randomName('amqp');
  const dead = `${queue}.dead`;
  const connection: ChannelModel = await amqp.connect(AMQP_URL);
  try {
    const publishChannel = await connection.createConfirmChannel();
    await publishChannel.assertQueue(dead, { durable: true, arguments: { 'x-queue-type': 'classic' } });
    await publishChannel.assertQueue(queue, {
      durable: true,
      arguments: {
        'x-queue-type': 'quorum',
        'x-delivery-limit': 20,
        'x-dead-letter-strategy': 'at-least-once',
        'x-overflow': 'reject-publish',
        'x-dead-letter-exchange': '',
        'x-dead-letter-routing-key': dead,
      },
    });
    const consumeChannel: Channel = await connection.createChannel();
    await consumeChannel.prefetch(prefetch);
    await consumeChannel.consume(queue, (message: ConsumeMessage | null) => {
      if (!message) return;
      // After close() the channel refuses acks: those messages are being torn down with the queue.
      const settle = (ok: boolean) => {
        try {
          if (ok) consumeChannel.ack(message);
          else consumeChannel.nack(message, false, true);
        } catch {
          // channel closed
        }
      };
      handle(JSON.parse(message.content.toString())).then(
        () => settle(true),
        () => settle(false),
      );
    });
    const send = confirmedPublisher(publishChannel);
    let sent = 0;
    return {
      publish: (content) => {
        const message = shapeOf(shape, queue, (sent += 1), content);
        return send(queue, message.content, message.options);
      },
      async close() {
        await connection.close().catch(() => undefined);
        await deleteRabbitObjects({ queues: [queue, dead] });
      },
    };
  } catch (error) {
    await connection.close().catch(() => undefined);
    await deleteRabbitObjects({ queues: [queue, dead] });
    throw error;
  }
}
