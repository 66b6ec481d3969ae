/**
 * The Redis adapters (single Redis node) through every conformance suite: several apps in this
 * process, each with its own `createRedisAdapters()` and connections, are the nodes of one cluster.
 */
import { afterAll, describe, it } from 'vitest';
import { cacheSuite } from './conformance/cache.suite.js';
import { eventQueueSuite } from './conformance/event-queue.suite.js';
import { lockSuite } from './conformance/lock.suite.js';
import { namesSuite } from './conformance/names.suite.js';
import { pubSubSuite } from './conformance/pub-sub.suite.js';
import { redisFactory, resolveRedisUrl } from './conformance/redis-factory.js';

const target = await resolveRedisUrl();

if ('skip' in target) {
  describe.skip(`redis (skipped: ${target.skip})`, () => {
    it('needs a Redis server', () => {});
  });
} else {
  afterAll(async () => {
    await target.stop?.();
  });
  const factory = redisFactory('redis', () => ({ url: target.url }));
  eventQueueSuite(factory);
  lockSuite(factory);
  pubSubSuite(factory);
  cacheSuite(factory);
  namesSuite(factory);
}
