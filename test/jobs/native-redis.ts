/**
 * The Redis of the native engine's test files (Redis's default managed-job engine): the Redis of
 * `REDIS_URL` (see `resolveRedisUrl`: under `CI=true` an unreachable one fails the file loudly), a
 * cluster factory on it with the native engine, and the file's suites registered on it — or, outside
 * CI without a Redis, one skipped case saying why.
 */
import { afterAll, describe, it } from 'vitest';
import type { RedisAdaptersOptions } from 'clusterkit/redis';
import type { ClusterFactory } from '../conformance/cluster.js';
import { redisFactory, resolveRedisUrl } from '../conformance/redis-factory.js';

/**
 * The native engine's options in these files: the default engine (no `engine` given), with a short
 * lock and stalled check, so takeovers are quick.
 */
export const FAST_NATIVE: NonNullable<RedisAdaptersOptions['managedJobs']> = {
  lockDurationMs: 2_000,
  stalledIntervalMs: 3_000,
};

/**
 * Registers `body(factory, url)` — the file's suites, on a factory labelled `label` whose nodes run
 * the native engine with `managedJobs` ({@link FAST_NATIVE} unless given) — when there is a Redis.
 */
export async function onNativeRedis(
  title: string,
  body: (factory: ClusterFactory, url: string) => void,
  options: { label?: string; managedJobs?: RedisAdaptersOptions['managedJobs'] } = {},
): Promise<void> {
  const target = await resolveRedisUrl();
  if ('skip' in target) {
    describe.skip(`${title} (skipped: ${target.skip})`, () => {
      it('needs a Redis server', () => {});
    });
    return;
  }
  afterAll(async () => {
    await target.stop?.();
  });
  const managedJobs = options.managedJobs ?? FAST_NATIVE;
  const factory = redisFactory(
    options.label ?? 'redis-native',
    () => ({ url: target.url }),
    () => ({ managedJobs }),
  );
  body(factory, target.url);
}
