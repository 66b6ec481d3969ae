/**
 * The managed-job suites on a 3-master Redis Cluster (started for this file on free loopback
 * ports): job records, claims and schedule ticks spread over slots and masters, and the SCAN-based
 * reads walk every master.
 */
import { afterAll, beforeAll, describe, it } from 'vitest';
import { redisFactory } from '../conformance/redis-factory.js';
import { haveRedisBinaries, startRedisCluster, type RedisClusterHandle } from '../redis/redis-servers.js';
import { managedJobSuites } from './managed-jobs.suite.js';

if (!haveRedisBinaries()) {
  if (process.env.CI === 'true') throw new Error('redis-server/redis-cli not found (CI=true: refusing to skip)');
  describe.skip('managed jobs on redis-cluster (skipped: redis-server/redis-cli not on PATH)', () => {
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
  managedJobSuites(
    redisFactory('redis-cluster', () => {
      if (!cluster) throw new Error('the Redis Cluster did not start');
      return { cluster: { nodes: cluster.ports.map((port) => ({ host: '127.0.0.1', port })) } };
    }),
  );
}
