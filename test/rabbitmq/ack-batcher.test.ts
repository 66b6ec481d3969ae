/**
 * The consumer's batched acks (adapters/rabbitmq/ack-batcher.ts) never acknowledge a delivery that
 * was not settled: on a real broker, deliveries are acked out of order around unsettled and rejected
 * ones, the channel is closed, and exactly the unsettled ones come back; contiguous acks leave as
 * one `multiple` ack.
 */
import amqp, { type Channel, type ChannelModel, type ConsumeMessage } from 'amqplib';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { acksOf } from '../../adapters/rabbitmq/ack-batcher.js';
import { resolveAmqpUrl } from '../conformance/rabbitmq-factory.js';
import { randomName } from '../helpers.js';

const target = await resolveAmqpUrl();
const DEADLINE_MS = 10_000;

if ('skip' in target) {
  describe.skip(`rabbitmq ack batcher (skipped: ${target.skip})`, () => {
    it('needs a RabbitMQ broker', () => {});
  });
} else {
  describe('rabbitmq batched acks', () => {
    const url = target.url;
    let connection: ChannelModel | undefined;
    const queue = randomName('ackbatch');
    afterEach(async () => {
      if (!connection) return;
      const channel = await connection.createChannel();
      await channel.deleteQueue(queue).catch(() => {});
      await connection.close().catch(() => {});
      connection = undefined;
    });

    async function consume(count: number): Promise<{ channel: Channel; messages: ConsumeMessage[] }> {
      connection = await amqp.connect(url);
      const setup = await connection.createConfirmChannel();
      await setup.assertQueue(queue, { durable: false });
      for (let i = 1; i <= count; i += 1) setup.sendToQueue(queue, Buffer.from(String(i)));
      await setup.waitForConfirms();
      const channel = await connection.createChannel();
      await channel.prefetch(count);
      const messages: ConsumeMessage[] = [];
      await channel.consume(queue, (m) => m && messages.push(m), { noAck: false });
      await vi.waitFor(() => expect(messages).toHaveLength(count), { timeout: DEADLINE_MS });
      return { channel, messages };
    }

    it('acks only settled deliveries, in one multiple ack where they are contiguous', async () => {
      const { channel, messages } = await consume(10);
      const sent: { tag: number; multiple: boolean }[] = [];
      const ack = channel.ack.bind(channel);
      channel.ack = (message, allUpTo) => {
        sent.push({ tag: message.fields.deliveryTag, multiple: allUpTo === true });
        ack(message, allUpTo);
      };
      const acks = acksOf(channel);
      const body = (m: ConsumeMessage) => Number(m.content.toString());
      // 1-3 settled, 4 unsettled, 5 rejected, 6-8 settled, 9 unsettled, 10 settled.
      for (const m of messages) {
        const n = body(m);
        if (n === 5) {
          channel.reject(m, false);
          acks.settled(m);
        } else if (n !== 4 && n !== 9) acks.ack(m);
      }
      acks.flushNow();
      const tag = (n: number) => messages.find((m) => body(m) === n)!.fields.deliveryTag;
      expect(sent).toEqual([
        { tag: tag(3), multiple: true },
        ...[6, 7, 8, 10].map((n) => ({ tag: tag(n), multiple: false })),
      ]);
      // Settling 4 closes the gap up to 8 (already acked one by one): no further frame needed for them.
      acks.ack(messages.find((m) => body(m) === 4)!);
      acks.flushNow();
      expect(sent.at(-1)).toEqual({ tag: tag(4), multiple: true });

      // Close the channel: only 9 was never settled, and only 9 comes back.
      await channel.close();
      const check = await connection!.createChannel();
      const again: string[] = [];
      await check.consume(queue, (m) => m && again.push(m.content.toString()), { noAck: true });
      await vi.waitFor(() => expect(again).toEqual(['9']), { timeout: DEADLINE_MS });
      const { messageCount } = await check.checkQueue(queue);
      expect(messageCount).toBe(0);
    });

    it('forgets settled tags behind a delivery that never settles (bounded memory), acking them one by one', async () => {
      const count = 5_000;
      const { channel, messages } = await consume(count);
      const acks = acksOf(channel);
      // The first delivery never settles; every other one does.
      for (const m of messages.slice(1)) acks.ack(m);
      acks.flushNow();
      expect(acks.remembered).toBeLessThanOrEqual(4_096);
      await channel.close();
      const check = await connection!.createChannel();
      const again: string[] = [];
      await check.consume(queue, (m) => m && again.push(m.content.toString()), { noAck: true });
      await vi.waitFor(() => expect(again).toEqual(['1']), { timeout: DEADLINE_MS });
    });
  });
}
