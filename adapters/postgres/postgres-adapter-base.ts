/**
 * What the PostgreSQL adapters share: the adapter kit's {@link SharedConnectionAdapter} lifecycle over
 * the node's refcounted {@link PgConnections} (the first reference opens the pool and migrates), plus
 * the schema the node's tables live in.
 */
import { SharedConnectionAdapter } from 'clusterkit/adapter-kit';
import type { PgConnections } from './connection.js';

/** Base of the PostgreSQL adapters. */
export abstract class PostgresAdapterBase extends SharedConnectionAdapter<PgConnections> {
  /** The schema the node's tables live in (unquoted). */
  get schema(): string {
    return this.connections.settings.schema;
  }
}
