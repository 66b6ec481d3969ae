/**
 * Where PUBLISH goes on a Redis Cluster. ioredis sends a command without a key to a random master on
 * every call, and that master relays the message to the others over the cluster bus; so a later
 * publish sent to the subscriber's own master could arrive before an earlier one that took the bus
 * (seen: awaited publishes 1, 2 delivered as 2, 1). Sending every publish of one channel to the same
 * master keeps one publisher's order on that channel, as on a single Redis, while the set of masters
 * stays the same; channels are spread over the masters by a hash of their name.
 */
import { Cluster, type Redis } from 'ioredis';
import type { RedisClient } from './connection.js';

/** The connection to send a PUBLISH on `channel` with: `client` itself unless it is a Cluster. */
export function publishingClient(client: RedisClient, channel: string): RedisClient {
  if (!(client instanceof Cluster)) return client;
  const masters = client.nodes('master');
  if (masters.length < 2) return client;
  masters.sort((a, b) => (nodeKey(a) < nodeKey(b) ? -1 : 1));
  const node = masters[hash(channel) % masters.length] as Redis;
  // Not connected yet (or reconnecting): let the Cluster route it, which waits or fails as configured.
  return node.status === 'ready' ? node : client;
}

function nodeKey(node: Redis): string {
  return `${node.options.host ?? ''}:${node.options.port ?? ''}`;
}

/** FNV-1a over the UTF-16 code units: stable across processes, so every node picks the same master. */
function hash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i += 1) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}
