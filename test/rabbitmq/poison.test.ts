/**
 * Poison messages on RabbitMQ: a foreign producer (a raw amqplib client) writes straight onto the
 * physical work queue — bytes that are not UTF-8, JSON that is not a clusterkit envelope, a message
 * without id or headers. Each one ends up in the dead-letter queue with a MALFORMED_MESSAGE reason
 * and the consumer keeps going. A message redelivered past the quorum delivery limit (consumers
 * that keep dying on it) is dead-lettered by the broker, never dropped, and listed with the reason.
 */
import { ErrorCodes } from 'clusterkit';
import { queueNames } from 'clusterkit/rabbitmq';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { TestCluster } from '../conformance/cluster.js';
import { rabbitmqFactory, rabbitPrefix, resolveAmqpUrl } from '../conformance/rabbitmq-factory.js';
import { deferred, randomName, within } from '../helpers.js';
import { rawClient } from './broker.js';

const target = await resolveAmqpUrl();
const DEADLINE_MS = 15_000;
const waitOpts = { timeout: DEADLINE_MS, interval: 50 };

if ('skip' in target) {
  describe.skip(`rabbitmq poison messages (skipped: ${target.skip})`, () => {
    it('needs a RabbitMQ broker', () => {});
  });
} else {
  describe('rabbitmq poison messages', () => {
    let cluster: TestCluster | undefined;
    afterEach(async () => {
      await cluster?.dispose();
      cluster = undefined;
    });

    it('dead-letters foreign bytes and foreign JSON with a reason and keeps consuming', async () => {
      cluster = rabbitmqFactory('rabbitmq', () => target.url).create();
      const [publisher, worker] = [cluster.node(), cluster.node()];
      await Promise.all([publisher.start(), worker.start()]);
      const channel = randomName('q');
      const handled: unknown[] = [];
      const fine = deferred();
      await worker.eventQueue.subscribe(channel, {
        process(message) {
          handled.push(message);
          if (message === 'fine') fine.resolve();
        },
      });
      const physical = queueNames(rabbitPrefix(cluster.name), `${publisher.name}:${channel}`).main;
      const raw = await rawClient(target.url);
      try {
        raw.channel.sendToQueue(physical, Buffer.from([0xff, 0xfe, 0x00, 0xc3]), {
          messageId: 'binary-1',
          persistent: true,
        });
        raw.channel.sendToQueue(physical, Buffer.from('{"hello":"world"}'), {
          messageId: 'foreign-json-1',
          contentType: 'application/json',
        });
        // No id, no headers, no properties at all.
        raw.channel.sendToQueue(physical, Buffer.from('plain text'));
        await raw.channel.waitForConfirms();
      } finally {
        await raw.close();
      }
      await publisher.eventQueue.publish(channel, 'fine');
      await within(fine.promise, DEADLINE_MS, 'a valid message after the poison ones');
      expect(handled).toEqual(['fine']);

      const letters = await vi.waitFor(async () => {
        const list = await publisher.eventQueue.listDeadLetters(channel);
        expect(list).toHaveLength(3);
        return list;
      }, waitOpts);
      for (const letter of letters) {
        expect(letter.error.code).toBe(ErrorCodes.MALFORMED_MESSAGE);
        expect(letter.error.message.length).toBeGreaterThan(0);
        expect(letter.attempt).toBe(1);
      }
      const byId = new Map(letters.map((l) => [l.id, l]));
      expect(byId.get('binary-1')?.error.message).toMatch(/UTF-8/);
      expect(byId.get('foreign-json-1')?.message).toBe('{"hello":"world"}');
      // The id-less message got a generated, stable id, so it can be deleted by id.
      const anonymous = letters.find((l) => l.id !== 'binary-1' && l.id !== 'foreign-json-1')!;
      expect(anonymous.message).toBe('plain text');
      expect(await publisher.eventQueue.deleteDeadLetters(channel, [anonymous.id])).toBe(1);
      expect((await publisher.eventQueue.listDeadLetters(channel)).map((l) => l.id).sort()).toEqual([
        'binary-1',
        'foreign-json-1',
      ]);
      expect(await publisher.eventQueue.counts(channel)).toMatchObject({ waiting: 0, dead: 2 });
    });

    it('dead-letters (never drops) a message redelivered past the delivery limit, with the reason', async () => {
      cluster = rabbitmqFactory('rabbitmq', () => target.url, { deliveryLimit: 2 }).create();
      const app = cluster.node();
      await app.start();
      const channel = randomName('q');
      const { id } = await app.eventQueue.publish(channel, 'crashes every consumer');
      const physical = queueNames(rabbitPrefix(cluster.name), `${app.name}:${channel}`).main;
      // A consumer that dies on the message every time: take it, hand it back unacked, again and again.
      const raw = await rawClient(target.url);
      try {
        let deliveries = 0;
        await vi.waitFor(async () => {
          const message = await raw.channel.get(physical, { noAck: false });
          if (message !== false) {
            deliveries += 1;
            raw.channel.nack(message, false, true);
          }
          expect((await raw.channel.checkQueue(physical)).messageCount).toBe(0);
          expect(deliveries).toBeGreaterThan(2);
        }, waitOpts);
      } finally {
        await raw.close();
      }
      const [letter] = await vi.waitFor(async () => {
        const list = await app.eventQueue.listDeadLetters(channel);
        expect(list).toHaveLength(1);
        return list;
      }, waitOpts);
      expect(letter).toMatchObject({ id, message: 'crashes every consumer', error: { code: 'DELIVERY_LIMIT' } });
      // Re-driven, it runs normally with a fresh budget.
      const got = deferred<number>();
      await app.eventQueue.subscribe(channel, { process: (_m, ctx) => got.resolve(ctx.retried) });
      expect(await app.eventQueue.redrive(channel, [id])).toBe(1);
      expect(await within(got.promise, DEADLINE_MS, 're-driven message handled')).toBe(0);
    });
  });
}
