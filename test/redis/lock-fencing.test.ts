/**
 * Fencing tokens survive the loss of their counter. A Redis that restarts without persistence, a
 * failover to a replica that had not seen the last writes, FLUSHDB or eviction all lose the key's
 * counter; the next token must still be greater than every token handed out before, or a stale
 * writer's token would pass the resource's `fence < token` check again. The counter is seeded from
 * the Redis server's clock (microseconds) when it is missing, then incremented.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, silentLogger, type App } from 'clusterkit';
import { createRedisAdapters } from 'clusterkit/redis';
import { deletePrefix, resolveRedisUrl, scanKeys } from '../conformance/redis-factory.js';
import { randomName } from '../helpers.js';
import { haveRedisBinaries, startRedisServer, type RedisServer } from './redis-servers.js';

const target = await resolveRedisUrl();
if (!haveRedisBinaries() && process.env.CI === 'true')
  throw new Error('redis-server not found (CI=true: refusing to skip)');

async function tokenOf(app: App, key: string): Promise<number> {
  const lock = await app.lockManager.acquire(key);
  await lock.release();
  return lock.fencingToken;
}

describe.skipIf('skip' in target)('redis lock: fencing tokens across counter loss', () => {
  const url = 'url' in target ? target.url : '';
  const prefix = randomName('ckt');
  let raw: Redis;
  let app: App;

  beforeAll(async () => {
    raw = new Redis(url);
    app = createApp({
      name: randomName('fence'),
      logger: silentLogger,
      adapters: createRedisAdapters({ url, prefix, onError: () => {} }),
    });
    await app.start();
  });
  afterAll(async () => {
    await app?.stop();
    await deletePrefix(raw, prefix);
    await raw.quit();
  });

  it('keeps tokens increasing when the counter key is deleted (FLUSHDB, eviction)', async () => {
    const key = randomName('stock');
    const before = [await tokenOf(app, key), await tokenOf(app, key), await tokenOf(app, key)];
    const counters = await scanKeys(raw, `${prefix}:lock:*fence*`);
    expect(counters.length).toBe(1);
    await raw.del(...counters);
    const after = await tokenOf(app, key);
    expect(after).toBeGreaterThan(Math.max(...before));
    expect(Number.isSafeInteger(after)).toBe(true);
    // And it goes on increasing by one from the new seed.
    expect(await tokenOf(app, key)).toBe(after + 1);
  });

  describe.skipIf(!haveRedisBinaries())('on a Redis that restarts without persistence', () => {
    let server: RedisServer;
    beforeAll(async () => {
      server = await startRedisServer();
    }, 60_000);
    afterAll(async () => {
      await server?.destroy();
    });

    it('hands out a greater token after the restart emptied Redis', async () => {
      const node = createApp({
        name: randomName('fence'),
        logger: silentLogger,
        adapters: createRedisAdapters({ url: server.url, prefix, onError: () => {} }),
      });
      await node.start();
      try {
        const key = randomName('stock');
        const before = Math.max(await tokenOf(node, key), await tokenOf(node, key));
        await server.stop();
        await server.start(); // no AOF, no RDB: every key is gone
        const probe = new Redis(server.url);
        expect(await probe.dbsize()).toBe(0);
        await probe.quit();
        // A waiting acquire rides out the reconnect (it retries a backend that does not answer, with backoff).
        const lock = await node.lockManager.acquire(key, undefined, { timeout: 10_000 });
        await lock.release();
        const after = lock.fencingToken;
        expect(after).toBeGreaterThan(before);
      } finally {
        await node.stop();
      }
    }, 60_000);
  });
});
