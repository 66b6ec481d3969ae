/**
 * Quorum mode: the lock conformance suite with `redlock: { nodes }` over three independent private
 * redis-servers (the event queue, pub/sub and release notifications stay on the main Redis).
 * Fencing tokens come from a quorum register on those nodes; see docs/redis.md for what that
 * guarantees.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, silentLogger } from 'clusterkit';
import { createRedisAdapters } from 'clusterkit/redis';
import { lockSuite } from '../conformance/lock.suite.js';
import { deletePrefix, redisFactory, resolveRedisUrl } from '../conformance/redis-factory.js';
import { randomName } from '../helpers.js';
import { haveRedisBinaries, startRedisServer, type RedisServer } from './redis-servers.js';

const target = await resolveRedisUrl();
if (!haveRedisBinaries() && process.env.CI === 'true')
  throw new Error('redis-server not found (CI=true: refusing to skip)');
const runnable = !('skip' in target) && haveRedisBinaries();

describe.skipIf(!runnable)('redis: Redlock quorum mode', () => {
  const url = 'url' in target ? target.url : '';
  let servers: RedisServer[] = [];

  beforeAll(async () => {
    servers = await Promise.all([startRedisServer(), startRedisServer(), startRedisServer()]);
  }, 60_000);
  afterAll(async () => {
    await Promise.allSettled(servers.map((s) => s.destroy()));
  });

  lockSuite(
    redisFactory(
      'redlock',
      () => ({ url }),
      () => ({ redlock: { nodes: servers.map((s) => s.url) } }),
    ),
  );

  it('keeps fencing tokens increasing while one of three nodes is down', async () => {
    const prefix = randomName('ckt');
    const app = createApp({
      name: randomName('rl'),
      logger: silentLogger,
      adapters: createRedisAdapters({ url, prefix, onError: () => {}, redlock: { nodes: servers.map((s) => s.url) } }),
    });
    await app.start();
    try {
      const first = await app.lockManager.acquire('k');
      await first.release();
      await servers[0]!.stop();
      const second = await app.lockManager.acquire('k');
      await second.release();
      await servers[0]!.start(); // back empty: no persistence on these test servers
      await servers[1]!.stop();
      const third = await app.lockManager.acquire('k');
      await third.release();
      await servers[1]!.start();
      expect(second.fencingToken).toBeGreaterThan(first.fencingToken);
      expect(third.fencingToken).toBeGreaterThan(second.fencingToken);
    } finally {
      await app.stop();
      const client = new Redis(url);
      await deletePrefix(client, prefix);
      await client.quit();
    }
  }, 60_000);
});
