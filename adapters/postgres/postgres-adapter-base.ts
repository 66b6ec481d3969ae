/**
 * What the PostgreSQL adapters share: each holds one reference on the node's refcounted
 * {@link PgConnections} between `connect()` and `close()`, and refuses calls outside that window
 * with `NOT_CONNECTED`.
 */
import { ClusterError, ErrorCodes } from 'clusterkit';
import type { PgConnections } from './connection.js';

/** Base of the PostgreSQL adapters. */
export abstract class PostgresAdapterBase {
  /** True between a finished `connect()` and `close()`. */
  protected connected = false;

  protected constructor(
    protected readonly connections: PgConnections,
    private readonly label: string,
  ) {}

  /** The schema the node's tables live in (unquoted). */
  get schema(): string {
    return this.connections.settings.schema;
  }

  /** Takes a reference on the shared connections (the first opens them and migrates). Idempotent. */
  async connect(): Promise<void> {
    if (this.connected) return;
    await this.connections.open();
    this.connected = true;
  }

  /** Marks the adapter closed, lets it drop what it holds, then gives back its reference. Idempotent. */
  async close(): Promise<void> {
    if (!this.connected) return;
    this.connected = false;
    await this.dropResources();
    await this.connections.release();
  }

  /** Closes what the adapter holds on top of the shared connections (consumers, listeners). */
  protected abstract dropResources(): Promise<void>;

  /** Throws `NOT_CONNECTED` unless connected. */
  protected assertConnected(): void {
    if (!this.connected) throw new ClusterError(ErrorCodes.NOT_CONNECTED, `${this.label} is not connected`);
  }
}
