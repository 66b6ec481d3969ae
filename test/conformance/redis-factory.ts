/**
 * Redis clusters for the conformance suites: each test cluster gets a random key prefix, each node
 * its own `createRedisAdapters()` (its own connections), and cleanup removes the prefix's keys with
 * SCAN + UNLINK. `REDIS_URL` (default `redis://127.0.0.1:6379`) says where Redis is; see
 * {@link resolveRedisUrl} for what happens when it does not answer.
 */
import { Cluster, Redis, type ClusterNode } from 'ioredis';
import { createRedisAdapters, type RedisAdaptersOptions } from 'clusterkit/redis';
import { randomName } from '../helpers.js';
import { deletePrefix } from '../redis/delete-prefix.js';
import type { ClusterFactory } from './cluster.js';
import { clusterFactory } from './make-cluster.js';

export { deletePrefix } from '../redis/delete-prefix.js';

/** Every key of one Redis node matching `pattern` (SCAN, never KEYS). */
export async function scanKeys(client: Redis, pattern: string): Promise<string[]> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await client.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    cursor = next;
    keys.push(...batch);
  } while (cursor !== '0');
  return keys;
}

/** Connects a throwaway client to `source`, deletes every key under `prefix` ({@link deletePrefix}) and disconnects. */
export async function deleteRedisPrefix(source: RedisSource, prefix: string): Promise<void> {
  const client =
    'url' in source
      ? new Redis(source.url, { lazyConnect: true })
      : new Cluster(source.cluster.nodes, { lazyConnect: true });
  client.on('error', () => {});
  try {
    await client.connect();
    await deletePrefix(client, prefix);
  } finally {
    client.disconnect();
  }
}

/** Answers PING within a second? */
export async function redisAnswers(url: string): Promise<boolean> {
  const client = new Redis(url, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    connectTimeout: 1_000,
  });
  client.on('error', () => {});
  try {
    await client.connect();
    return (await client.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}

/** Where the tests find Redis, or why they cannot run. */
export type RedisTarget = { url: string; stop?: () => Promise<void> } | { skip: string };

/**
 * `REDIS_URL` when it answers. Otherwise: under `CI=true` throw (tests must fail loudly, never
 * skip); else start a Redis with testcontainers when Docker is there; else a visible skip reason.
 */
export async function resolveRedisUrl(): Promise<RedisTarget> {
  const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  if (await redisAnswers(url)) return { url };
  if (process.env.CI === 'true') throw new Error(`Redis does not answer at ${url} (CI=true: refusing to skip)`);
  try {
    const { GenericContainer } = await import('testcontainers');
    const container = await new GenericContainer('redis:7-alpine').withExposedPorts(6379).start();
    return {
      url: `redis://${container.getHost()}:${container.getMappedPort(6379)}`,
      stop: async () => {
        await container.stop();
      },
    };
  } catch (error) {
    return {
      skip: `Redis does not answer at ${url} and no Docker to start one (${(error as Error).message.split('\n')[0]})`,
    };
  }
}

/** How a factory reaches Redis. */
export type RedisSource = { url: string } | { cluster: { nodes: ClusterNode[] } };

/** A {@link ClusterFactory} over Redis; `label` shows in test names. */
export function redisFactory(
  label: string,
  source: () => RedisSource,
  extra: () => Omit<RedisAdaptersOptions, 'url' | 'cluster' | 'prefix'> = () => ({}),
): ClusterFactory {
  return clusterFactory(label, () => {
    const prefix = randomName('ckt');
    return {
      adapters: () => createRedisAdapters({ ...source(), ...extra(), prefix, onError: () => {} }),
      async cleanup() {
        await deleteRedisPrefix(source(), prefix);
      },
    };
  });
}
