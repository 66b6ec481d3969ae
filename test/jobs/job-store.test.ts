/** The job-store contract suite on every store this repository ships: memory, portable (over a cache store), Redis. */
import { createMemoryBackend, createMemoryJobStore, LockManager, MemoryCacheStore, PortableJobStore } from 'clusterkit';
import { createRedisAdapters } from 'clusterkit/redis';
import { afterAll } from 'vitest';
import { deleteRedisPrefix, resolveRedisUrl } from '../conformance/redis-factory.js';
import { randomName } from '../helpers.js';
import { jobStoreSuite } from './job-store.suite.js';

jobStoreSuite({
  label: 'memory',
  async create(appName) {
    return { store: createMemoryJobStore(createMemoryBackend())({ appName }), dispose: async () => {} };
  },
});

jobStoreSuite({
  label: 'portable over a memory cache store',
  async create(appName) {
    const cache = new MemoryCacheStore(createMemoryBackend());
    const locks = new LockManager();
    await cache.connect();
    await locks.connect();
    return {
      store: new PortableJobStore(() => cache, locks, appName),
      dispose: async () => {
        await locks.close();
        await cache.close();
      },
    };
  },
});

const redis = await resolveRedisUrl();
if (!('skip' in redis)) {
  afterAll(async () => {
    await redis.stop?.();
  });
  jobStoreSuite({
    label: 'redis',
    async create(appName) {
      const prefix = randomName('ckjs');
      const store = createRedisAdapters({ url: redis.url, prefix }).jobStore({ appName });
      await store.connect();
      return {
        store,
        dispose: async () => {
          await store.close();
          await deleteRedisPrefix({ url: redis.url }, prefix);
        },
      };
    },
  });
}
