/** The job-store contract suite on every store this repository ships: memory, portable (over a cache store), Redis, PostgreSQL. */
import { createMemoryBackend, createMemoryJobStore, LockManager, MemoryCacheStore, PortableJobStore } from 'clusterkit/adapter-kit';
import { createPostgresAdapters } from 'clusterkit/postgres';
import { createRedisAdapters } from 'clusterkit/redis';
import { afterAll } from 'vitest';
import { dropSchema, resolvePostgresUrl } from '../conformance/postgres-factory.js';
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

const postgres = await resolvePostgresUrl();
if (!('skip' in postgres)) {
  afterAll(async () => {
    await postgres.stop?.();
  });
  jobStoreSuite({
    label: 'postgres',
    async create(appName) {
      const schema = randomName('ckjs');
      const store = createPostgresAdapters({ connectionString: postgres.url, schema }).jobStore({ appName });
      await store.connect();
      return {
        store,
        dispose: async () => {
          await store.close();
          await dropSchema(postgres.url, schema);
        },
      };
    },
  });
}
