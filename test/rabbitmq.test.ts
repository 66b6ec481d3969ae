/**
 * The RabbitMQ adapters (event queue, pub/sub) through their conformance suites: several apps in
 * this process, each with its own `createRabbitMQAdapters()` connection, are the nodes of one
 * cluster; locks and cache fall back to memory. Both work-queue types run: quorum (the default,
 * no priority on 3.x) and classic (priority).
 */
import { afterAll, describe, it } from 'vitest';
import { eventQueueSuite } from './conformance/event-queue.suite.js';
import { namesSuite } from './conformance/names.suite.js';
import { pubSubSuite } from './conformance/pub-sub.suite.js';
import { rabbitmqFactory, resolveAmqpUrl } from './conformance/rabbitmq-factory.js';

const target = await resolveAmqpUrl();

if ('skip' in target) {
  describe.skip(`rabbitmq (skipped: ${target.skip})`, () => {
    it('needs a RabbitMQ broker', () => {});
  });
} else {
  afterAll(async () => {
    await target.stop?.();
  });
  eventQueueSuite(rabbitmqFactory('rabbitmq', () => target.url));
  eventQueueSuite(rabbitmqFactory('rabbitmq classic queues', () => target.url, { queueType: 'classic' }));
  pubSubSuite(rabbitmqFactory('rabbitmq', () => target.url));
  namesSuite(
    rabbitmqFactory('rabbitmq', () => target.url),
    ['eventQueue', 'pubSub'],
  );
}
