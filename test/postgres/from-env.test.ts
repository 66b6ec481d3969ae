/**
 * `adaptersFromEnv()` on PostgreSQL: `CLUSTERKIT_ADAPTER=postgres` with `DATABASE_URL` (or
 * `CLUSTERKIT_DATABASE_URL`) and `CLUSTERKIT_POSTGRES_SCHEMA` gives an app that runs on PostgreSQL
 * alone: a message, a lock, a cache value and a pub/sub message across two such nodes; managed-job
 * records in the PostgreSQL job store.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { adaptersFromEnv, createApp, ErrorCodes, silentLogger } from 'clusterkit';
import {
  PostgresCacheStore,
  PostgresEventQueueAdapter,
  PostgresJobStore,
  PostgresLockAdapter,
  PostgresPubSubAdapter,
} from 'clusterkit/postgres';
import { codeOf } from '../code-of.js';
import { dropSchema, resolvePostgresUrl } from '../conformance/postgres-factory.js';
import { deferred, randomName, within } from '../helpers.js';

const target = await resolvePostgresUrl();

if ('skip' in target) {
  describe.skip(`adaptersFromEnv on PostgreSQL (skipped: ${target.skip})`, () => {
    it('needs a PostgreSQL server', () => {});
  });
} else {
  const schema = randomName('ckenv');
  afterAll(async () => {
    await dropSchema(target.url, schema);
    await target.stop?.();
  });

  describe('adaptersFromEnv on PostgreSQL', () => {
    it('refuses postgres without a database URL', async () => {
      expect(await codeOf(adaptersFromEnv({ CLUSTERKIT_ADAPTER: 'postgres' }))).toBe(ErrorCodes.INVALID_OPTION);
    });

    it('builds PostgreSQL adapters for every primitive, and two such nodes form a cluster', async () => {
      const env = { CLUSTERKIT_ADAPTER: 'postgres', DATABASE_URL: target.url, CLUSTERKIT_POSTGRES_SCHEMA: schema };
      const adapters = await adaptersFromEnv(env);
      expect(adapters.eventQueue).toBeInstanceOf(PostgresEventQueueAdapter);
      expect(adapters.lock).toBeInstanceOf(PostgresLockAdapter);
      expect(adapters.pubSub).toBeInstanceOf(PostgresPubSubAdapter);
      expect(adapters.cache).toBeInstanceOf(PostgresCacheStore);
      const name = randomName('env');
      const a = createApp({ name, logger: silentLogger, adapters });
      // Managed-job records in the PostgreSQL job store (not the portable store over the cache).
      expect(a.managedQueue.jobStore).toBeInstanceOf(PostgresJobStore);
      const b = createApp({ name, logger: silentLogger, adapters: await adaptersFromEnv(env) });
      await Promise.all([a.start(), b.start()]);
      try {
        const got = deferred<unknown>();
        const heard = deferred<unknown>();
        await b.eventQueue.subscribe('work', { process: (m) => got.resolve(m) });
        await b.pubSubManager.subscribe('news', (m) => heard.resolve(m));
        await a.eventQueue.publish('work', { n: 1 });
        await a.pubSubManager.publish('news', 'hello');
        expect(await within(got.promise, 10_000, 'message handled on b')).toEqual({ n: 1 });
        expect(await within(heard.promise, 10_000, 'pub/sub heard on b')).toBe('hello');
        await a.cache.set('k', 42);
        expect(await b.cache.get('k')).toBe(42);
        const lock = await a.lockManager.tryAcquire('res');
        expect(await codeOf(b.lockManager.tryAcquire('res'))).toBe(ErrorCodes.LOCK_ACQUIRE_FAILED);
        await lock.release();
      } finally {
        await Promise.all([a.stop(), b.stop()]);
      }
    });
  });
}
