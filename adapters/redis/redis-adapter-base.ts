/**
 * What the Redis cache store, pub/sub, lock and event-queue adapters share: each holds one reference
 * on the node's refcounted {@link RedisConnections} between `connect()` and `close()`, and refuses
 * calls outside that window with `NOT_CONNECTED`. (The Redlock adapter keeps its own lifecycle: its
 * state lives in the Redlock instance.)
 */
import { ClusterError, ErrorCodes } from 'clusterkit';
import type { RedisClient, RedisConnections } from './connection.js';

/** Base of the Redis adapters that only borrow the node's shared connections. */
export abstract class RedisAdapterBase {
  /** True between a finished `connect()` and `close()`; in-flight calls check it to fail fast after a close. */
  protected connected = false;

  /**
   * @param connections the node's shared connections.
   * @param label the adapter in messages, e.g. `Redis cache store` (`Redis cache store is not connected`).
   */
  protected constructor(
    protected readonly connections: RedisConnections,
    private readonly label: string,
  ) {}

  /** Takes a reference on the shared connections (opening them if this is the first). Idempotent. */
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

  /** Closes what the adapter opened on top of the shared connections (subscriptions, clients). */
  protected abstract dropResources(): Promise<void>;

  /** Throws `NOT_CONNECTED` unless connected. */
  protected assertConnected(): void {
    if (!this.connected) throw new ClusterError(ErrorCodes.NOT_CONNECTED, `${this.label} is not connected`);
  }

  /** The shared command connection; throws `NOT_CONNECTED` unless connected. */
  protected client(): RedisClient {
    this.assertConnected();
    return this.connections.command;
  }
}
