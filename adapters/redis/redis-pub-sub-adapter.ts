/**
 * Pub/sub on Redis PUBLISH/SUBSCRIBE. Fan-out to every subscribed node, at most once (Redis
 * pub/sub keeps nothing for a node that is disconnected). Channels are `<prefix>:ps:<channel>`;
 * the manager has already namespaced `<channel>` by app name and owns the envelope.
 */
import { ClusterError, ErrorCodes, type PubSubAdapter } from 'clusterkit/adapter-kit';
import { publishingClient } from './cluster-publish.js';
import { whileOpen, type RedisConnections } from './connection.js';
import { RedisAdapterBase } from './redis-adapter-base.js';

/** Redis pub/sub adapter for one node. Subscriptions survive reconnects (ioredis re-subscribes). */
export class RedisPubSubAdapter extends RedisAdapterBase implements PubSubAdapter {
  private readonly subscriptions = new Map<string, () => Promise<void>>();

  constructor(connections: RedisConnections) {
    super(connections, 'Redis pub/sub adapter');
  }

  protected async dropResources(): Promise<void> {
    const subs = [...this.subscriptions.values()];
    this.subscriptions.clear();
    await Promise.allSettled(subs.map((unsubscribe) => unsubscribe()));
  }

  async subscribe(channel: string, onMessage: (payload: string) => void): Promise<void> {
    this.assertConnected();
    if (this.subscriptions.has(channel)) {
      throw new ClusterError(ErrorCodes.ALREADY_SUBSCRIBED, `channel "${channel}" already has a listener on this node`);
    }
    const unsubscribe = await whileOpen(
      () => this.connected,
      'SUBSCRIBE',
      () => this.connections.subscriber.listen(this.channel(channel), onMessage),
    );
    this.subscriptions.set(channel, unsubscribe);
  }

  async unsubscribe(channel: string): Promise<void> {
    const unsubscribe = this.subscriptions.get(channel);
    if (!unsubscribe) return;
    this.subscriptions.delete(channel);
    await unsubscribe();
  }

  async publish(channel: string, payload: string): Promise<void> {
    const name = this.channel(channel);
    const client = publishingClient(this.client(), name);
    await whileOpen(
      () => this.connected,
      'PUBLISH',
      () => client.publish(name, payload),
    );
  }

  private channel(channel: string): string {
    return `${this.connections.prefix}:ps:${channel}`;
  }
}
