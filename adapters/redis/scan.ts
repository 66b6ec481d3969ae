/**
 * SCAN-based key iteration and deletion by prefix — never KEYS, never FLUSHDB. On a Redis Cluster
 * every master is scanned, and keys are unlinked one by one (they live in different hash slots).
 */
import { Cluster } from 'ioredis';
import type { RedisClient } from './connection.js';

/** Escapes the glob characters of SCAN MATCH so `prefix` matches literally. */
export function escapeGlob(prefix: string): string {
  return prefix.replace(/[*?[\]\\]/g, (c) => `\\${c}`);
}

/** Yields every key that starts with `prefix`, in batches of about `count`. */
export async function* scanKeys(client: RedisClient, prefix: string, count = 500): AsyncGenerator<string[]> {
  const nodes = client instanceof Cluster ? client.nodes('master') : [client];
  const match = `${escapeGlob(prefix)}*`;
  for (const node of nodes) {
    let cursor = '0';
    do {
      const [next, keys] = await node.scan(cursor, 'MATCH', match, 'COUNT', count);
      cursor = next;
      if (keys.length > 0) yield keys;
    } while (cursor !== '0');
  }
}

/** Unlinks `keys`: one command on a single node, one per key on a Cluster (cross-slot). */
export async function unlinkKeys(client: RedisClient, keys: readonly string[]): Promise<number> {
  if (keys.length === 0) return 0;
  if (client instanceof Cluster) {
    const counts = await Promise.all(keys.map((key) => client.unlink(key)));
    return counts.reduce((a, b) => a + b, 0);
  }
  return client.unlink(...keys);
}

/** Deletes every key that starts with `prefix` (SCAN + UNLINK); returns how many were removed. */
export async function clearPrefix(client: RedisClient, prefix: string): Promise<number> {
  let removed = 0;
  for await (const batch of scanKeys(client, prefix)) removed += await unlinkKeys(client, batch);
  return removed;
}
