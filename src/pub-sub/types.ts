/**
 * The pub/sub contract. The manager owns the envelope, skipSelf/onlySelf, debounce and the
 * handler list; an adapter moves one string per message to every node subscribed to a channel.
 */

/** The byte-moving half of the pub/sub manager. One instance per node. */
export interface PubSubAdapter {
  connect(): Promise<void>;
  close(): Promise<void>;
  /**
   * Delivers every message published on `channel` (by any node, this one included) to `onMessage`.
   * One listener per channel per adapter instance: the manager multiplexes. Must survive reconnects.
   */
  subscribe(channel: string, onMessage: (payload: string) => void): Promise<void>;
  unsubscribe(channel: string): Promise<void>;
  /** At-most-once fan-out to every subscribed node. */
  publish(channel: string, payload: string): Promise<void>;
}
