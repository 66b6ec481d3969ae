/**
 * The managed-job suites on Redis on the record engine (`managedJobs: { engine: 'records' }`, label
 * 'redis records'): event queue (BullMQ), locks, pub/sub, cache and job records all on one Redis.
 * The default (native) engine runs the suites' cases it has in redis-native.test.ts (label 'redis').
 */
import { afterAll, describe, it } from 'vitest';
import { redisFactory, resolveRedisUrl } from '../conformance/redis-factory.js';
import { managedJobSuites } from './managed-jobs.suite.js';

const target = await resolveRedisUrl();

if ('skip' in target) {
  describe.skip(`managed jobs on redis records (skipped: ${target.skip})`, () => {
    it('needs a Redis server', () => {});
  });
} else {
  afterAll(async () => {
    await target.stop?.();
  });
  managedJobSuites(
    redisFactory(
      'redis records',
      () => ({ url: target.url }),
      () => ({ managedJobs: { engine: 'records' } }),
    ),
  );
}
