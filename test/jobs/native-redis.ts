/**
 * The Redis of the native engine's test files (Redis's default managed-job engine): the Redis of
 * `REDIS_URL` (see `resolveRedisUrl`: under `CI=true` an unreachable one fails the file loudly), a
 * cluster factory on it with the native engine, and the file's suites registered on it — or, outside
 * CI without a Redis, one skipped case saying why.
 */
import { afterAll, describe, it } from 'vitest';
import type { RedisAdaptersOptions } from 'clusterkit/redis';
import type { Redis } from 'ioredis';
import { nativeBullName } from '../../adapters/redis/native-ids.js';
import type { HandlerName } from '../../adapters/redis/native-job-shape.js';
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
 * the native engine with `managedJobs` ({@link FAST_NATIVE} unless given), declaring
 * `managedFeatures` when given — when there is a Redis.
 */
export async function onNativeRedis(
  title: string,
  body: (factory: ClusterFactory, url: string) => void,
  options: {
    label?: string;
    managedJobs?: RedisAdaptersOptions['managedJobs'];
    /** What the engine supports beyond the core, for the shared suites' `casesFor` (jobs-helpers.ts). */
    managedFeatures?: ReadonlySet<string>;
  } = {},
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
  const base = redisFactory(
    options.label ?? 'redis-native',
    () => ({ url: target.url }),
    () => ({ managedJobs }),
  );
  body(options.managedFeatures ? { ...base, managedFeatures: options.managedFeatures } : base, target.url);
}

/**
 * The lock keys of handler `handler`'s running native jobs in app `appName` (SCAN: a test takes a
 * lock away as a node that stops extending it loses it).
 */
export async function scanNativeLocks(client: Redis, appName: string, handler: HandlerName): Promise<string[]> {
  const found: string[] = [];
  let cursor = '0';
  const queue = nativeBullName(appName, handler);
  do {
    const [next, keys] = await client.scan(cursor, 'MATCH', `*${queue}:*:lock`, 'COUNT', 1000);
    cursor = next;
    found.push(...keys);
  } while (cursor !== '0');
  return found;
}
