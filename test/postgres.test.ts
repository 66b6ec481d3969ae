/**
 * The PostgreSQL adapters through every conformance suite: several apps in this process, each with
 * its own `createPostgresAdapters()` (its own pool and LISTEN connection), are the nodes of one
 * cluster, on a random schema per test.
 */
import { afterAll, describe, it } from 'vitest';
import { cacheSuite } from './conformance/cache.suite.js';
import { eventQueueSuite } from './conformance/event-queue.suite.js';
import { lockSuite } from './conformance/lock.suite.js';
import { namesSuite } from './conformance/names.suite.js';
import { postgresFactory, resolvePostgresUrl } from './conformance/postgres-factory.js';
import { pubSubSuite } from './conformance/pub-sub.suite.js';

const target = await resolvePostgresUrl();

if ('skip' in target) {
  describe.skip(`postgres (skipped: ${target.skip})`, () => {
    it('needs a PostgreSQL server', () => {});
  });
} else {
  afterAll(async () => {
    await target.stop?.();
  });
  const factory = postgresFactory('postgres', () => target.url);
  eventQueueSuite(factory);
  lockSuite(factory);
  pubSubSuite(factory);
  cacheSuite(factory);
  namesSuite(factory);
}
