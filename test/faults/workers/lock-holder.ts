/**
 * A lock holder — or waiter — in its own OS process, for the lock-holder-crash case. `CK_MODE=hold`
 * (default): takes the Redis lock `CK_KEY` with `runExclusive` (ttl `CK_TTL_MS`, lease kept alive
 * while it "works"), reports the grant, and works forever. `CK_MODE=wait`: waits for the lock
 * (`acquire`, ttl `CK_TTL_MS`), standing in the key's line, and reports `waiting` once the call is
 * made. Either way it runs until the parent SIGKILLs it.
 *
 * Environment: CK_BACKEND (`redis`, the default, or `postgres`), REDIS_URL, DATABASE_URL, CK_PREFIX (the
 * schema on `postgres`), CK_APP, CK_KEY, CK_TTL_MS, CK_MODE. IPC out: `held {fencingToken}`, `waiting`.
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
const ttl = Number(env('CK_TTL_MS'));
if (process.env.CK_MODE === 'wait') {
  const granted = app.lockManager.acquire(env('CK_KEY'), ttl);
  process.send?.({ type: 'waiting' });
  const lock = await granted;
  process.send?.({ type: 'held', fencingToken: lock.fencingToken });
  await new Promise<never>(() => {}); // the parent kills a waiter before it is served
} else {
  await app.lockManager.runExclusive(
    env('CK_KEY'),
    async (lock) => {
      process.send?.({ type: 'held', fencingToken: lock.fencingToken });
      await new Promise<never>(() => {}); // holds (and keeps extending) until killed
    },
    ttl,
  );
}
