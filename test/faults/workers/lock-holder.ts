/**
 * A lock holder in its own OS process, for the lock-holder-crash case: it takes the Redis lock
 * `CK_KEY` with `runExclusive` (ttl `CK_TTL_MS`, lease kept alive while it "works"), reports the
 * grant, and works forever — until the parent SIGKILLs it.
 *
 * Environment: CK_BACKEND (`redis`, the default, or `postgres`), REDIS_URL, DATABASE_URL, CK_PREFIX (the
 * schema on `postgres`), CK_APP, CK_KEY, CK_TTL_MS. IPC out: `held {fencingToken}`.
 */
import { createApp, silentLogger } from 'clusterkit';
import { createPostgresAdapters } from 'clusterkit/postgres';
import { createRedisAdapters } from 'clusterkit/redis';

const env = (name: string): string => {
  const value = process.env[name];
  if (!value) throw new Error(`lock-holder: ${name} is not set`);
  return value;
};

const app = createApp({
  name: env('CK_APP'),
  logger: silentLogger,
  adapters:
    process.env.CK_BACKEND === 'postgres'
      ? createPostgresAdapters({ connectionString: env('DATABASE_URL'), schema: env('CK_PREFIX'), onError: () => {} })
      : createRedisAdapters({ url: env('REDIS_URL'), prefix: env('CK_PREFIX'), onError: () => {} }),
});
await app.start();
await app.lockManager.runExclusive(
  env('CK_KEY'),
  async (lock) => {
    process.send?.({ type: 'held', fencingToken: lock.fencingToken });
    await new Promise<never>(() => {}); // holds (and keeps extending) until killed
  },
  Number(env('CK_TTL_MS')),
);
