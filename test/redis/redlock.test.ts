/**
 * Quorum mode: the lock conformance suite with `redlock: { nodes }` over three independent private
 * redis-servers (the event queue, pub/sub and release notifications stay on the main Redis).
 * Fencing tokens come from a quorum register on those nodes; see docs/redis.md for what that
 * guarantees.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, ErrorCodes, silentLogger } from 'clusterkit';
import { clusterCodeOf } from '../code-of.js';
import { createRedisAdapters } from 'clusterkit/redis';
import { lockSuite } from '../conformance/lock.suite.js';
import { deletePrefix, redisFactory, resolveRedisUrl, scanKeys } from '../conformance/redis-factory.js';
import { randomName, within } from '../helpers.js';
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

  /** `count` started apps (nodes of one cluster) in quorum mode on the three servers, and their cleanup. */
  const quorumApps = async (count = 1) => {
    const prefix = randomName('ckt');
    const name = randomName('rl');
    const apps = Array.from({ length: count }, () =>
      createApp({
        name,
        logger: silentLogger,
        adapters: createRedisAdapters({
          url,
          prefix,
          onError: () => {},
          redlock: { nodes: servers.map((s) => s.url) },
        }),
      }),
    );
    await Promise.all(apps.map((app) => app.start()));
    return {
      apps,
      async dispose() {
        await Promise.all(apps.map((app) => app.stop()));
        for (const where of [url, ...servers.map((s) => s.url)]) {
          const client = new Redis(where);
          await deletePrefix(client, prefix);
          await client.quit();
        }
      },
    };
  };

  /** Commands the server has processed so far (INFO stats). */
  const commandsProcessed = async (client: Redis): Promise<number> => {
    const info = await client.info('stats');
    return Number(/total_commands_processed:(\d+)/.exec(info)?.[1]);
  };

  it('tells quorum loss (BACKEND_UNAVAILABLE) apart from contention, and backs off while nodes are down', async () => {
    const {
      apps: [app, other],
      dispose,
    } = await quorumApps(2);
    const live = new Redis(servers[2]!.url);
    let down = false;
    try {
      // Contention: all nodes up, the lock held elsewhere.
      const held = await other!.lockManager.acquire('k', 30_000);
      expect(await clusterCodeOf(app!.lockManager.tryAcquire('k'))).toBe(ErrorCodes.LOCK_ACQUIRE_FAILED);
      await held.release();

      // Quorum loss: two of three nodes down. Not "held by someone else".
      await servers[0]!.stop();
      await servers[1]!.stop();
      down = true;
      expect(await clusterCodeOf(app!.lockManager.tryAcquire('k'))).toBe(ErrorCodes.BACKEND_UNAVAILABLE);
      // A waiting acquire retries at growing intervals from 50 ms, not in a busy loop; when its
      // limit passes it reports the outage, not contention.
      const before = await commandsProcessed(live);
      const startedAt = Date.now();
      const timedOut = await clusterCodeOf(app!.lockManager.acquire('k', 10_000, { timeout: 1_000 }));
      const elapsed = Date.now() - startedAt;
      const commands = (await commandsProcessed(live)) - before;
      expect(timedOut).toBe(ErrorCodes.BACKEND_UNAVAILABLE);
      expect(elapsed).toBeGreaterThanOrEqual(900);
      // About 5 attempts in a second (50, 100, 200, 400 ms apart), a few commands each.
      expect(commands).toBeLessThan(60);

      // A waiting acquire rides out the outage and gets the lock once a majority is back.
      const waiting = app!.lockManager.acquire('k', 10_000);
      await servers[0]!.start();
      await servers[1]!.start();
      down = false;
      const lock = await within(waiting, 20_000, 'acquire after the nodes came back');
      expect(lock.held).toBe(true);
      await lock.release();
    } finally {
      if (down) await Promise.allSettled([servers[0]!.start(), servers[1]!.start()]);
      live.disconnect();
      await dispose();
    }
  }, 60_000);

  it('keeps fencing tokens increasing when every node lost the counter', async () => {
    const {
      apps: [app],
      dispose,
    } = await quorumApps();
    try {
      const first = await app!.lockManager.acquire('k');
      await first.release();
      for (const server of servers) {
        const node = new Redis(server.url);
        const keys = await scanKeys(node, '*fence*');
        if (keys.length > 0) await node.del(...keys);
        await node.quit();
      }
      const second = await app!.lockManager.acquire('k');
      await second.release();
      expect(second.fencingToken).toBeGreaterThan(first.fencingToken);
    } finally {
      await dispose();
    }
  }, 60_000);

  it('keeps fencing tokens increasing while one of three nodes is down', async () => {
    const prefix = randomName('ckt');
    const app = createApp({
      name: randomName('rl'),
      logger: silentLogger,
      adapters: createRedisAdapters({ url, prefix, onError: () => {}, redlock: { nodes: servers.map((s) => s.url) } }),
    });
    await app.start();
    try {
      const first = await app!.lockManager.acquire('k');
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
