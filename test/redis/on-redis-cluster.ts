/**
 * `onRedisCluster`: runs suites against a 3-master Redis Cluster started for the calling test file on
 * free loopback ports and removed afterwards. Without `redis-server`/`redis-cli` the file reports a
 * skip, except under `CI=true`, where it fails loudly.
 */
import { afterAll, beforeAll, describe, it } from 'vitest';
import type { RedisAdaptersOptions } from 'clusterkit/redis';
import type { ClusterFactory } from '../conformance/cluster.js';
import { redisFactory } from '../conformance/redis-factory.js';
import { haveRedisBinaries, startRedisCluster, type RedisClusterHandle } from './redis-servers.js';

/**
 * Starts a Redis Cluster for the file (in `beforeAll`, stopped in `afterAll`) and hands `register` a
 * factory labelled `redis-cluster` whose nodes connect to it.
 *
 * @param title names the skipped block when the Redis binaries are missing (`<title> (skipped: ...)`).
 * @param setup what else the factory gives: its label, more adapter options (e.g. the managed-job
 *   engine) and the managed-job features its engine has.
 */
export function onRedisCluster(
  title: string,
  register: (factory: ClusterFactory) => void,
  setup: OnRedisClusterSetup = {},
): void {
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
  const base = redisFactory(
    setup.label ?? 'redis-cluster',
    () => {
      if (!cluster) throw new Error('the Redis Cluster did not start');
      return { cluster: { nodes: cluster.ports.map((port) => ({ host: '127.0.0.1', port })) } };
    },
    setup.options,
  );
  register(setup.managedFeatures ? { ...base, managedFeatures: setup.managedFeatures } : base);
}

/** What {@link onRedisCluster}'s factory gives beyond its defaults. */
export interface OnRedisClusterSetup {
  /** Shown in test names. @default 'redis-cluster' */
  readonly label?: string;
  /** More `createRedisAdapters` options for every node. */
  readonly options?: () => Omit<RedisAdaptersOptions, 'url' | 'cluster' | 'prefix'>;
  /** The managed-job features of the engine (see `ManagedFeature`); all when left out. */
  readonly managedFeatures?: ReadonlySet<string>;
}
