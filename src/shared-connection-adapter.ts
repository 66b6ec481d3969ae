/**
 * The lifecycle most backend adapters share: a node opens one set of connections to its backend and
 * every adapter of that node (event queue, lock, pub/sub, cache, job store) borrows it. Each adapter
 * takes one reference between its `connect()` and `close()` and refuses calls outside that window
 * with `NOT_CONNECTED`. The Redis and PostgreSQL adapters are built on it; a third-party adapter can
 * be too (it is exported from `clusterkit/adapter-kit`).
 */
import { ClusterError, ErrorCodes } from './errors.js';

/**
 * A node's refcounted connections to a backend: `open()` takes a reference (the first one opens the
 * connections), `release()` gives it back (the last one closes them).
 */
export interface SharedConnections {
  /** Takes a reference, opening the connections if this is the first. */
  open(): Promise<void>;
  /** Gives back a reference, closing the connections if it was the last. */
  release(): Promise<void>;
}

/**
 * Base of an adapter that only borrows the node's {@link SharedConnections}: `connect()` takes a
 * reference, `close()` drops what the adapter holds on top of them ({@link dropResources}) and gives
 * the reference back. Both are idempotent.
 *
 * @example
 * ```ts
 * class MyCacheStore extends SharedConnectionAdapter<MyConnections> implements CacheStore {
 *   constructor(connections: MyConnections) { super(connections, 'My cache store'); }
 *   protected async dropResources() {}
 *   async get(key: string) { this.assertConnected(); return this.connections.client.get(key); }
 *   // ...
 * }
 * ```
 */
export abstract class SharedConnectionAdapter<C extends SharedConnections> {
  /** True between a finished `connect()` and `close()`; in-flight calls check it to fail fast after a close. */
  protected connected = false;

  /**
   * @param connections the node's shared connections.
   * @param label the adapter in messages, e.g. `Redis cache store` (`Redis cache store is not connected`).
   */
  protected constructor(
    protected readonly connections: C,
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

  /** Closes what the adapter opened on top of the shared connections (subscriptions, consumers, listeners). */
  protected abstract dropResources(): Promise<void>;

  /** Throws `NOT_CONNECTED` unless connected. */
  protected assertConnected(): void {
    if (!this.connected) throw new ClusterError(ErrorCodes.NOT_CONNECTED, `${this.label} is not connected`);
  }
}
