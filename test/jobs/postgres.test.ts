/**
 * The managed-job suites on PostgreSQL alone: event queue, locks, pub/sub and cache all from
 * `createPostgresAdapters()`. The job records live in the portable job store on the PostgreSQL
 * cache (an unlogged table); a native PostgreSQL job store comes with the managed-job redesign.
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
