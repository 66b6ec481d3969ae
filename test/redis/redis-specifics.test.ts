/**
 * What the Redis adapters add beyond the conformance suites: BullMQ-hostile names and ids survive
 * the encoding, delayed messages start on time (client-side wake-up), finished jobs are kept only
 * within the retention bounds, the cache's native client shares the store's namespace, and
 * everything lives under the configured prefix.
 */
import { Redis } from 'ioredis';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { ClusterError, createApp, ErrorCodes, silentLogger } from 'clusterkit';
import { createRedisAdapters } from 'clusterkit/redis';
import { counter, deferred, randomName, within } from '../helpers.js';
import { deletePrefix, resolveRedisUrl } from '../conformance/redis-factory.js';
import { freePort } from './redis-servers.js';
import { redisApps } from './redis-apps.js';

const target = await resolveRedisUrl();

describe.skipIf('skip' in target)(
  `redis adapters: Redis specifics${'skip' in target ? ` (skipped: ${target.skip})` : ''}`,
  () => {
    const url = 'url' in target ? target.url : '';
    const fixture = redisApps(url, 'stop' in target ? target.stop : undefined);
    const { prefix, node } = fixture;
    let raw: Redis;
    beforeAll(() => {
      raw = fixture.raw();
    });

    it('carries channels and job ids that BullMQ refuses (":" and integer-looking ids) intact', async () => {
      const app = await node();
      const seen: string[] = [];
      const done = counter(3);
      await app.eventQueue.publish('orders:eu:new', { n: 1 }, { jobId: 'order:1' });
      await app.eventQueue.publish('orders:eu:new', { n: 2 }, { jobId: '42' });
      await app.eventQueue.publish('orders:eu:new', { n: 3 }, { jobId: '%N7{x}' });
      await app.eventQueue.publish('orders:eu:new', { n: 4 }, { jobId: '42' }); // still waiting: a no-op
      await app.eventQueue.subscribe('orders:eu:new', {
        process: (_m, { id }) => {
          seen.push(id);
          done.hit();
        },
      });
      await within(done.done, 10_000, 'three deliveries');
      expect(seen.sort()).toEqual(['%N7{x}', '42', 'order:1']);
    });

    it('starts delayed messages on time, not on the Redis server tick', async () => {
      const app = await node();
      const late: number[] = [];
      const done = counter(5);
      await app.eventQueue.subscribe('timers', {
        concurrency: 5,
        process: (m: { due: number }) => {
          late.push(Date.now() - m.due);
          done.hit();
        },
      });
      for (let i = 0; i < 5; i += 1) {
        const delay = 200 + i * 37;
        await app.eventQueue.publish('timers', { due: Date.now() + delay }, { delay });
      }
      await within(done.done, 10_000, 'delayed deliveries');
      expect(Math.min(...late)).toBeGreaterThanOrEqual(0); // never early
      console.info(`[measured] delayed start lateness (ms): ${late.join(', ')}`);
    });

    it('keeps completed and dead jobs only within the retention bounds', async () => {
      const app = await node({ eventQueue: { keepCompleted: { count: 2 }, keepDead: { count: 1, ageMs: 60_000 } } });
      const done = counter(7);
      await app.eventQueue.subscribe('kept', {
        maxRetries: 0,
        process: (m: { fail: boolean }) => {
          done.hit();
          if (m.fail) throw new Error('no');
        },
      });
      for (let i = 0; i < 5; i += 1) await app.eventQueue.publish('kept', { fail: false });
      for (let i = 0; i < 2; i += 1) await app.eventQueue.publish('kept', { fail: true });
      await within(done.done, 10_000, 'all handled');
      const base = `${prefix}:q:{${app.name}%3Akept}`;
      await vi.waitFor(async () => {
        expect(await raw.zcard(`${base}:completed`)).toBe(2);
        expect(await raw.zcard(`${base}:failed`)).toBe(1);
      });
    });

    it('keeps the completed history of a reused jobId under renamed ids, within retention', async () => {
      const app = await node({ eventQueue: { keepCompleted: { count: 3 } } });
      let next = deferred<number>();
      await app.eventQueue.subscribe('reused', { process: (m: { n: number }) => next.resolve(m.n) });
      const base = `${prefix}:q:{${app.name}%3Areused}`;
      for (let n = 0; n < 5; n += 1) {
        await app.eventQueue.publish('reused', { n }, { jobId: 'order:7' });
        expect(await within(next.promise, 10_000, `run ${n}`)).toBe(n);
        next = deferred<number>();
        await vi.waitFor(async () => expect(await raw.zscore(`${base}:completed`, 'order%3A7')).not.toBeNull());
      }
      // The latest run under the id itself, the earlier ones renamed aside; retention trims the oldest.
      await vi.waitFor(async () => expect(await raw.zcard(`${base}:completed`)).toBe(3));
      const ids = await raw.zrange(`${base}:completed`, '0', '-1');
      expect(ids).toContain('order%3A7');
      expect(ids.filter((id) => /^order%3A7%R\d+$/.test(id))).toHaveLength(2);
      for (const id of ids) expect(await raw.hget(`${base}:${id}`, 'data')).toContain('order:7');
    });

    it('gives plugins an ioredis client in the store namespace, one per prefix, closed on stop', async () => {
      const app = await node();
      const store = app.cacheManager.store;
      const native = store.nativeClient!('plugin-a:') as Redis;
      expect(store.nativeClient!('plugin-a:')).toBe(native);
      await native.hset('profile', 'name', 'Ada');
      expect(await raw.hget(`${prefix}:c:plugin-a:profile`, 'name')).toBe('Ada');
      await native.set('plain', 'v');
      expect(await store.get('plugin-a:plain')).toBe('v');
      await app.stop();
      await vi.waitFor(() => expect(native.status).toBe('end'));
    });

    it('writes nothing outside its prefix', async () => {
      const other = randomName('ckt');
      const app = createApp({
        name: randomName('rs'),
        logger: silentLogger,
        adapters: createRedisAdapters({ url, prefix: other, onError: () => {} }),
      });
      await app.start();
      try {
        await app.eventQueue.subscribe('c', { process: () => {} });
        await app.eventQueue.publish('c', { x: 1 }, { delay: 10 });
        await app.cache.set('k', 1);
        const lock = await app.lockManager.acquire('l');
        const keys: string[] = [];
        let cursor = '0';
        do {
          const [next, batch] = await raw.scan(cursor, 'MATCH', `*${other}*`, 'COUNT', 1000);
          cursor = next;
          keys.push(...batch);
        } while (cursor !== '0');
        expect(keys.length).toBeGreaterThan(0);
        expect(keys.every((k) => k.startsWith(`${other}:`))).toBe(true);
        await lock.release();
      } finally {
        await app.stop();
        await deletePrefix(raw, other);
      }
    });

    it('opens no connection before start, and start fails with BACKEND_UNAVAILABLE when Redis is not there', async () => {
      const nowhere = `redis://127.0.0.1:${await freePort()}`;
      const app = createApp({
        name: randomName('rs'),
        logger: silentLogger,
        adapters: createRedisAdapters({ url: nowhere, prefix, connectTimeoutMs: 1_000, onError: () => {} }),
      });
      const error = await app.start().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(ClusterError);
      expect((error as ClusterError).code).toBe(ErrorCodes.BACKEND_UNAVAILABLE);
    });

    it('refuses unknown options and more than one connection source at the call', () => {
      const codeOf = (make: () => unknown) => {
        try {
          make();
          return undefined;
        } catch (error) {
          return (error as ClusterError).code;
        }
      };
      expect(codeOf(() => createRedisAdapters({ url, prefx: 'x' } as never))).toBe(ErrorCodes.UNKNOWN_OPTION);
      expect(codeOf(() => createRedisAdapters({ url, options: { port: 1 } }))).toBe(ErrorCodes.INVALID_OPTION);
      expect(codeOf(() => createRedisAdapters({ url, prefix: 'has space' }))).toBe(ErrorCodes.INVALID_OPTION);
      expect(codeOf(() => createRedisAdapters({ url, eventQueue: { lockDurationMs: -1 } }))).toBe(
        ErrorCodes.INVALID_OPTION,
      );
      expect(codeOf(() => createRedisAdapters({ url, eventQueue: { keepDead: { count: 1, age: 5 } as never } }))).toBe(
        ErrorCodes.UNKNOWN_OPTION,
      );
    });
  },
);
