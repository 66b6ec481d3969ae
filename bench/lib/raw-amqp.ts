/**
 * The raw amqplib baselines: a durable quorum work queue fed through a ConfirmChannel (each publish
 * resolves on the broker's confirm, `drain` respected) and drained by a consumer with prefetch and a
 * manual ack after the handler resolves; and a fanout exchange for pub/sub.
 */
import amqp, { type Channel, type ChannelModel, type ConfirmChannel, type ConsumeMessage } from 'amqplib';
import { AMQP_URL, deleteRabbitObjects, randomName } from './services.js';

/** Publishes on a confirm channel; the promise resolves on the broker's ack. Waits for `drain` when the socket is full. */
export function confirmedPublisher(channel: ConfirmChannel) {
  let drained: Promise<void> | undefined;
  return async (queue: string, content: Buffer): Promise<void> => {
    while (drained) await drained;
    await new Promise<void>((resolve, reject) => {
      const ok = channel.sendToQueue(queue, content, { persistent: true, contentType: 'application/json' }, (err) =>
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
      handle(JSON.parse(message.content.toString()))
        .then(() => consumeChannel.ack(message))
        .catch(() => consumeChannel.nack(message, false, true));
    });
    const send = confirmedPublisher(publishChannel);
    return {
      publish: (content) => send(queue, content),
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
