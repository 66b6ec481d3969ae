/**
 * Raw pub/sub baselines: two ioredis clients (PUBLISH / SUBSCRIBE), and an amqplib fanout exchange
 * with one exclusive auto-delete queue consumed without acks (at-most-once, like pub/sub), each
 * side on its own connection as two nodes would be.
 */
import amqp, { type Channel, type ChannelModel } from 'amqplib';
import { AMQP_URL, deleteRabbitObjects, randomName, redisClient } from './services.js';

/** A raw publisher/subscriber pair. */
export interface RawPubSub {
  publish(message: unknown): Promise<void>;
  close(): Promise<void>;
}

/** Redis: `onMessage` gets every message published, parsed from JSON. */
export async function startRawRedisPubSub(onMessage: (message: unknown) => void): Promise<RawPubSub> {
  const channel = randomName('pubsub');
  const publisher = redisClient();
  const subscriber = redisClient();
  subscriber.on('message', (_channel: string, text: string) => onMessage(JSON.parse(text)));
  await subscriber.subscribe(channel);
  return {
    publish: async (message) => {
      await publisher.publish(channel, JSON.stringify(message));
    },
    async close() {
      await Promise.all([publisher, subscriber].map((c) => c.quit().catch(() => c.disconnect())));
    },
  };
}

/** RabbitMQ: fanout exchange, exclusive auto-delete queue, `noAck` consumer; publishes wait for `drain`. */
export async function startRawAmqpPubSub(onMessage: (message: unknown) => void): Promise<RawPubSub> {
  const exchange = randomName('fanout');
  const publisherConnection: ChannelModel = await amqp.connect(AMQP_URL);
  const subscriberConnection: ChannelModel = await amqp.connect(AMQP_URL);
  const publishChannel: Channel = await publisherConnection.createChannel();
  await publishChannel.assertExchange(exchange, 'fanout', { durable: false });
  const subscribeChannel = await subscriberConnection.createChannel();
  const { queue } = await subscribeChannel.assertQueue('', { exclusive: true, autoDelete: true });
  await subscribeChannel.bindQueue(queue, exchange, '');
  await subscribeChannel.consume(queue, (m) => m && onMessage(JSON.parse(m.content.toString())), { noAck: true });
  let drained: Promise<void> | undefined;
  return {
    async publish(message) {
      while (drained) await drained;
      if (
        !publishChannel.publish(exchange, '', Buffer.from(JSON.stringify(message)), { contentType: 'application/json' })
      ) {
        drained ??= new Promise<void>((r) => publishChannel.once('drain', () => r())).then(() => {
          drained = undefined;
        });
      }
    },
    async close() {
      await subscriberConnection.close().catch(() => undefined);
      await publisherConnection.close().catch(() => undefined);
      await deleteRabbitObjects({ exchanges: [exchange] });
    },
  };
}
