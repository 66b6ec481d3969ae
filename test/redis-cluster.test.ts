/**
 * The Redis adapters on a 3-master Redis Cluster through every conformance suite. The cluster is
 * started for this file on free loopback ports and removed afterwards. Keys that must share a slot
 * (a BullMQ queue's keys, a lock's lease and fencing counter) do so through hash tags; cache
 * multi-key calls and prefix scans work across slots and masters.
 */
import { afterAll, beforeAll, describe, it } from 'vitest';
import { cacheSuite } from './conformance/cache.suite.js';
import { eventQueueSuite } from './conformance/event-queue.suite.js';
import { lockSuite } from './conformance/lock.suite.js';
import { pubSubSuite } from './conformance/pub-sub.suite.js';
import { redisFactory } from './conformance/redis-factory.js';
import { haveRedisBinaries, startRedisCluster, type RedisClusterHandle } from './redis/redis-servers.js';

if (!haveRedisBinaries()) {
  if (process.env.CI === 'true') throw new Error('redis-server/redis-cli not found (CI=true: refusing to skip)');
  describe.skip('redis-cluster (skipped: redis-server/redis-cli not on PATH)', () => {
    it('needs redis-server and redis-cli', () => {});
  });
} else {
  let cluster: RedisClusterHandle | undefined;
  beforeAll(async () => {
    cluster = await startRedisCluster();
  }, 60_000);
  afterAll(async () => {
    await cluster?.stop();
  });
  const factory = redisFactory('redis-cluster', () => {
    if (!cluster) throw new Error('the Redis Cluster did not start');
    return { cluster: { nodes: cluster.ports.map((port) => ({ host: '127.0.0.1', port })) } };
  });
  eventQueueSuite(factory);
  lockSuite(factory);
  pubSubSuite(factory);
  cacheSuite(factory);
}
