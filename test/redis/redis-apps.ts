/**
 * Apps on the Redis adapters for one test file: every app shares the file's random key prefix, and a
 * raw ioredis client inspects the keys. Call {@link redisApps} inside the `describe`; it registers
 * its own `beforeAll`/`afterAll` (apps stopped, the prefix's keys deleted, the client closed).
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll } from 'vitest';
import { createApp, silentLogger, type App } from 'clusterkit';
import { createRedisAdapters, type RedisAdaptersOptions } from 'clusterkit/redis';
import { randomName } from '../helpers.js';
import { deletePrefix } from './delete-prefix.js';

/** What {@link redisApps} gives a test file. */
export interface RedisApps {
  readonly prefix: string;
  /** The raw client (set in `beforeAll`). */
  raw(): Redis;
  /** Starts an app on the shared prefix; stopped after the file. */
  node(extra?: Omit<RedisAdaptersOptions, 'url' | 'prefix'>, name?: string): Promise<App>;
  /** Runs after the file, once the apps are stopped and before the keys are deleted. */
  onCleanup(step: () => Promise<unknown>): void;
}

/** Apps on `url` under a random prefix, cleaned up after the file (see the module comment). */
export function redisApps(url: string, stop?: () => Promise<void>): RedisApps {
  const prefix = randomName('ckt');
  const apps: App[] = [];
  const cleanups: Array<() => Promise<unknown>> = [];
  let client: Redis | undefined;
  beforeAll(() => {
    client = new Redis(url);
  });
  afterAll(async () => {
    await Promise.allSettled(cleanups.map((step) => step()));
    await Promise.allSettled(apps.map((a) => a.stop()));
    await deletePrefix(client!, prefix);
    await client!.quit();
    await stop?.();
  });
  return {
    prefix,
    raw: () => client!,
    async node(extra = {}, name = randomName('rs')) {
      const app = createApp({
        name,
        logger: silentLogger,
        adapters: createRedisAdapters({ url, prefix, onError: () => {}, ...extra }),
      });
      apps.push(app);
      await app.start();
      return app;
    },
    onCleanup: (step) => void cleanups.push(step),
  };
}
