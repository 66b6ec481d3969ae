/**
 * The managed-job regression suite on the portable job store (a cache store without a native job
 * store: here Redis's cache store alone), which any third-party cache backend gets.
 */
import { createRedisAdapters } from 'clusterkit/redis';
import { afterAll, describe, it } from 'vitest';
import { clusterFactory } from '../conformance/make-cluster.js';
import { deleteRedisPrefix, resolveRedisUrl } from '../conformance/redis-factory.js';
import { randomName } from '../helpers.js';
import { adminSuite } from './admin.suite.js';
import { transitionsSuite } from './transitions.suite.js';

const target = await resolveRedisUrl();

if ('skip' in target) {
  describe.skip(`managed jobs on the portable store (skipped: ${target.skip})`, () => {
    it('needs a Redis server', () => {});
  });
} else {
  afterAll(async () => {
    await target.stop?.();
  });
  const factory = clusterFactory('portable store over redis cache', () => {
    const prefix = randomName('ckp');
    return {
      adapters: () => {
        // The record engine without its Redis job store: the portable store over the cache.
        const { jobStore: _native, ...rest } = createRedisAdapters({
          url: target.url,
          prefix,
          onError: () => {},
          managedJobs: { engine: 'records' },
        });
        return rest;
      },
      cleanup: () => deleteRedisPrefix({ url: target.url }, prefix),
    };
  });
  transitionsSuite(factory);
  adminSuite(factory);
}
