/** The managed-job suites on Redis: event queue (BullMQ), locks, pub/sub and cache all on one Redis. */
import { afterAll, describe, it } from 'vitest';
import { redisFactory, resolveRedisUrl } from '../conformance/redis-factory.js';
import { managedJobSuites } from './managed-jobs.suite.js';

const target = await resolveRedisUrl();

if ('skip' in target) {
  describe.skip(`managed jobs on redis (skipped: ${target.skip})`, () => {
    it('needs a Redis server', () => {});
  });
} else {
  afterAll(async () => {
    await target.stop?.();
  });
  managedJobSuites(redisFactory('redis', () => ({ url: target.url })));
}
