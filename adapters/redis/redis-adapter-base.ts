/**
 * What the Redis cache store, pub/sub, lock and event-queue adapters share: the adapter kit's
 * {@link SharedConnectionAdapter} lifecycle over the node's refcounted {@link RedisConnections}, plus
 * the shared command connection. (The Redlock adapter keeps its own lifecycle: its state lives in the
 * Redlock instance.)
 */
import { SharedConnectionAdapter } from 'clusterkit/adapter-kit';
import type { RedisClient, RedisConnections } from './connection.js';

/** Base of the Redis adapters that only borrow the node's shared connections. */
export abstract class RedisAdapterBase extends SharedConnectionAdapter<RedisConnections> {
  /** The shared command connection; throws `NOT_CONNECTED` unless connected. */
  protected client(): RedisClient {
    this.assertConnected();
    return this.connections.command;
  }
}
