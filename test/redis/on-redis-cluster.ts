/**
 * `onRedisCluster`: runs suites against a 3-master Redis Cluster started for the calling test file on
 * free loopback ports and removed afterwards. Without `redis-server`/`redis-cli` the file reports a
 * skip, except under `CI=true`, where it fails loudly.
 */
import { afterAll, beforeAll, describe, it } from 'vitest';
import type { ClusterFactory } from '../conformance/cluster.js';
import { redisFactory } from '../conformance/redis-factory.js';
import { haveRedisBinaries, startRedisCluster, type RedisClusterHandle } from './redis-servers.js';

/**
 * Starts a Redis Cluster for the file (in `beforeAll`, stopped in `afterAll`) and hands `register` a
 * factory labelled `redis-cluster` whose nodes connect to it.
 *
 * @param title names the skipped block when the Redis binaries are missing (`<title> (skipped: ...)`).
 */
export function onRedisCluster(title: string, register: (factory: ClusterFactory) => void): void {
  if (!haveRedisBinaries()) {
    if (process.env.CI === 'true') throw new Error('redis-server/redis-cli not found (CI=true: refusing to skip)');
    describe.skip(`${title} (skipped: redis-server/redis-cli not on PATH)`, () => {
      it('needs redis-server and redis-cli', () => {});
    });
    return;
  }
  let cluster: RedisClusterHandle | undefined;
  beforeAll(async () => {
    cluster = await startRedisCluster();
  }, 60_000);
  afterAll(async () => {
    await cluster?.stop();
  });
  register(
    redisFactory('redis-cluster', () => {
      if (!cluster) throw new Error('the Redis Cluster did not start');
      return { cluster: { nodes: cluster.ports.map((port) => ({ host: '127.0.0.1', port })) } };
    }),
  );
}
