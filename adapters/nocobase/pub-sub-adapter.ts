/**
 * NocoBase's `IPubSubAdapter` over clusterkit's pub/sub. NocoBase's `PubSubManager` stays in front:
 * it wraps each message as JSON text (`{ publisherId, skipSelf?, onlySelf?, message }`), filters
 * "self" and debounces on receipt. This adapter fans the text out to every node, the sender
 * included, since NocoBase decides on receipt what is "self" — except that a message marked
 * `onlySelf` never leaves the node and one marked `skipSelf` is not looped back, which only saves
 * deliveries NocoBase would drop.
 */
import { ClusterError, ErrorCodes, describe, type PubSubHandler } from 'clusterkit/adapter-kit';
import type { IPubSubAdapter, PubSubCallback } from './nocobase-types.js';
import type { BridgeRuntime } from './runtime.js';

/** NocoBase's pub/sub adapter on a clusterkit node. */
export class ClusterkitPubSubAdapter implements IPubSubAdapter {
  private connected = false;
  private readonly subscriptions = new Map<string, Map<PubSubCallback, PubSubHandler>>();

  constructor(private readonly runtime: BridgeRuntime) {}

  isConnected(): boolean {
    return this.connected;
  }

  async connect(): Promise<void> {
    await this.runtime.ensureStarted();
    this.connected = true;
  }

  /** Drops every subscription (NocoBase subscribes again on its next `connect()`). Safe to call twice. */
  async close(): Promise<void> {
    if (!this.connected) return;
    this.connected = false;
    const pubSub = this.runtime.app.pubSubManager;
    const all = [...this.subscriptions].flatMap(([channel, handlers]) =>
      [...handlers.values()].map((handler) => [channel, handler] as const),
    );
    this.subscriptions.clear();
    if (!this.runtime.running) return;
    await Promise.allSettled(all.map(([channel, handler]) => pubSub.unsubscribe(channel, handler)));
  }

  async subscribe(channel: string, callback: PubSubCallback): Promise<void> {
    if (typeof callback !== 'function') {
      throw new ClusterError(
        ErrorCodes.INVALID_ARGUMENT,
        `pub/sub callback must be a function, got ${describe(callback)}`,
      );
    }
    let handlers = this.subscriptions.get(channel);
    if (!handlers) {
      handlers = new Map();
      this.subscriptions.set(channel, handlers);
    }
    if (handlers.has(callback)) return;
    const handler: PubSubHandler = (message) => callback(message);
    handlers.set(callback, handler);
    await this.runtime.app.pubSubManager.subscribe(channel, handler);
  }

  async unsubscribe(channel: string, callback: PubSubCallback): Promise<void> {
    const handlers = this.subscriptions.get(channel);
    const handler = handlers?.get(callback);
    if (!handlers || !handler) return;
    handlers.delete(callback);
    if (handlers.size === 0) this.subscriptions.delete(channel);
    await this.runtime.app.pubSubManager.unsubscribe(channel, handler);
  }

  /** Sends NocoBase's wire text to every node. Refuses anything but a string before it reaches the broker. */
  async publish(channel: string, message: string): Promise<void> {
    if (typeof message !== 'string') {
      throw new ClusterError(
        ErrorCodes.INVALID_PAYLOAD,
        `pub/sub adapter publishes NocoBase's JSON text, got ${describe(message)}`,
      );
    }
    const { onlySelf, skipSelf } = deliveryFlags(message);
    await this.runtime.app.pubSubManager.publish(channel, message, { onlySelf, skipSelf: skipSelf && !onlySelf });
  }
}

/** The `onlySelf` / `skipSelf` flags NocoBase put at the top of its wire text (false when unreadable). */
function deliveryFlags(text: string): { onlySelf: boolean; skipSelf: boolean } {
  try {
    const parsed = JSON.parse(text) as { onlySelf?: unknown; skipSelf?: unknown } | null;
    return { onlySelf: parsed?.onlySelf === true, skipSelf: parsed?.skipSelf === true };
  } catch {
    return { onlySelf: false, skipSelf: false };
  }
}
