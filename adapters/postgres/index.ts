/**
 * `clusterkit/postgres` — every primitive on the PostgreSQL database the app already has: event
 * queue (SKIP LOCKED + NOTIFY, transactional publish), FIFO lease locks with fencing tokens,
 * pub/sub over LISTEN/NOTIFY, and an unlogged-table cache, all in one schema of their own,
 * created by versioned migrations at `app.start()`. See docs/postgres.md.
 */
import type { FullClusterAdapters, JobStoreFactory } from 'clusterkit/adapter-kit';
import { PgConnections } from './connection.js';
import { resolveOptions, type PostgresAdaptersOptions } from './options.js';
import { PostgresCacheStore } from './postgres-cache-store.js';
import { PostgresEventQueueAdapter } from './postgres-event-queue-adapter.js';
import { PostgresJobStore } from './postgres-job-store.js';
import { PostgresLockAdapter } from './postgres-lock-adapter.js';
import { PostgresPubSubAdapter } from './postgres-pub-sub-adapter.js';

export type { PostgresAdaptersOptions, PostgresEventQueueOptions, PostgresRetentionOptions } from './options.js';
export type { Queryable } from './connection.js';
export { PgConnections } from './connection.js';
export { PostgresCacheStore } from './postgres-cache-store.js';
export { PostgresEventQueueAdapter } from './postgres-event-queue-adapter.js';
export { PostgresJobStore } from './postgres-job-store.js';
export { PostgresLockAdapter } from './postgres-lock-adapter.js';
export { PostgresPubSubAdapter } from './postgres-pub-sub-adapter.js';
export { notifyChannels } from './names.js';
export { LATEST_VERSION, MIGRATIONS, migrate, type Migration } from './migrations.js';

/**
 * The four adapters of one node and its job store (`app.managedQueue`'s records, schedules and
 * paused flags in the same schema; `managedQueue.enqueue(..., { transaction })` writes inside the
 * caller's PostgreSQL transaction).
 */
export interface PostgresAdapters extends FullClusterAdapters {
  eventQueue: PostgresEventQueueAdapter;
  lock: PostgresLockAdapter;
  pubSub: PostgresPubSubAdapter;
  cache: PostgresCacheStore;
  jobStore: JobStoreFactory;
}

/**
 * PostgreSQL adapters for every primitive of one node. Opens no connection until `app.start()`;
 * the four adapters share the node's pool (or the app's `pool`) and its one LISTEN connection,
 * which close when the last adapter (or job store) closes. The first start migrates the schema.
 */
export function createPostgresAdapters(options: PostgresAdaptersOptions): PostgresAdapters {
  const resolved = resolveOptions(options);
  const connections = new PgConnections(resolved.connection);
  return {
    eventQueue: new PostgresEventQueueAdapter(connections, resolved.queue),
    lock: new PostgresLockAdapter(connections),
    pubSub: new PostgresPubSubAdapter(connections),
    cache: new PostgresCacheStore(connections),
    jobStore: ({ appName }) => new PostgresJobStore(connections, appName),
  };
}
