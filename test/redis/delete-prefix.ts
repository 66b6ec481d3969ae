/**
 * `deletePrefix`: removes a test's (or a benchmark's) keys by prefix, on a single node or on every
 * master of a Redis Cluster. Depends on ioredis only, so the bench can use it too.
 */
import { Cluster, type Redis } from 'ioredis';

/** Deletes every key starting with `prefix` on a node or every master of a cluster (never KEYS/FLUSHDB). */
export async function deletePrefix(client: Redis | Cluster, prefix: string): Promise<void> {
  const nodes = client instanceof Cluster ? client.nodes('master') : [client];
  for (const node of nodes) {
    let cursor = '0';
    do {
      const [next, keys] = await node.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      // One key per UNLINK: on a cluster the keys of one node span many hash slots.
      await Promise.all(keys.map((key) => node.unlink(key)));
    } while (cursor !== '0');
  }
}
