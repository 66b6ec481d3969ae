/**
 * The managed-job suites on PostgreSQL alone: event queue, locks, pub/sub and cache all from
 * `createPostgresAdapters()`, job records in the PostgreSQL job store (postgres-job-store.ts).
 */
import { afterAll, describe, it } from 'vitest';
import { postgresFactory, resolvePostgresUrl } from '../conformance/postgres-factory.js';
import { managedJobSuites } from './managed-jobs.suite.js';

const target = await resolvePostgresUrl();

if ('skip' in target) {
  describe.skip(`managed jobs on postgres (skipped: ${target.skip})`, () => {
    it('needs a PostgreSQL server', () => {});
  });
} else {
  afterAll(async () => {
    await target.stop?.();
  });
  managedJobSuites(postgresFactory('postgres', () => target.url));
}
