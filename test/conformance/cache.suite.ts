/**
 * Cache conformance: the public API of `app.cacheManager` / `app.cache` (and the default store as
 * the portable key/value store the job layer relies on), run unchanged on every backend with
 * several nodes per test. TTL expiry is awaited with `vi.waitFor` deadlines, never fixed sleeps.
 */
import { ErrorCodes, type App } from 'clusterkit';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { codeOf } from '../code-of.js';
import { cacheNocobaseSuite } from './cache-nocobase.suite.js';
import { deferred, randomName, within } from '../helpers.js';
import type { ClusterFactory, TestCluster } from './cluster.js';
import { startNodes } from './start-nodes.js';

const DEADLINE_MS = 10_000;
const SHORT_TTL_MS = 200;
const LONG_TTL_MS = 60_000;

/** Runs the cache suite against `factory`'s backend. */
export function cacheSuite(factory: ClusterFactory): void {
  describe(`cache [${factory.label}]`, () => {
    let cluster: TestCluster;

    beforeEach(() => {
      cluster = factory.create();
    });
    afterEach(async () => {
      await cluster.dispose();
    });

    const nodes = (count: number, options?: Parameters<TestCluster['node']>[0]): Promise<App[]> =>
      startNodes(cluster, count, options);

    it('sets, gets and deletes values seen by every node', async () => {
      const [a, b] = await nodes(2);
      await a!.cache.set('user:1', { name: 'Ada', roles: ['admin'] });
      expect(await b!.cache.get('user:1')).toEqual({ name: 'Ada', roles: ['admin'] });
      expect(await b!.cache.get('user:2')).toBeUndefined();
      expect(await b!.cache.del('user:1')).toBe(true);
      expect(await b!.cache.del('user:1')).toBe(false);
      expect(await a!.cache.get('user:1')).toBeUndefined();
    });

    it('round-trips null, 0, false and empty string as values, not misses', async () => {
      const [a, b] = await nodes(2);
      const falsy: [string, unknown][] = [
        ['null', null],
        ['zero', 0],
        ['false', false],
        ['empty', ''],
      ];
      for (const [key, value] of falsy) await a!.cache.set(key, value);
      for (const [key, value] of falsy) expect(await b!.cache.get(key), key).toBe(value);
      expect(await b!.cache.mget(falsy.map(([key]) => key))).toEqual([null, 0, false, '']);
      // A cached falsy value is a hit: wrap does not call the loader.
      const loader = vi.fn(() => 'loaded');
      for (const [key, value] of falsy) expect(await b!.cache.wrap(key, loader)).toBe(value);
      expect(loader).not.toHaveBeenCalled();
    });

    it('expires values after their ttl (per call, and the cache default)', async () => {
      const [a, b] = await nodes(2);
      await a!.cache.set('short', 'v', SHORT_TTL_MS);
      await a!.cache.set('long', 'v', LONG_TTL_MS);
      await a!.cache.set('forever', 'v');
      await vi.waitFor(async () => expect(await b!.cache.get('short')).toBeUndefined(), { timeout: DEADLINE_MS });
      expect(await b!.cache.get('long')).toBe('v');
      expect(await b!.cache.get('forever')).toBe('v');

      const name = randomName('c');
      const shortLived = a!.cacheManager.createCache({ name, ttl: SHORT_TTL_MS });
      const sameOnB = b!.cacheManager.createCache({ name, ttl: SHORT_TTL_MS });
      await shortLived.set('k', 1);
      await shortLived.set('kept', 1, LONG_TTL_MS); // the per-call ttl wins over the cache default
      await shortLived.mset([['m', 2]]);
      await vi.waitFor(async () => expect(await sameOnB.mget('k', 'm')).toEqual([undefined, undefined]), {
        timeout: DEADLINE_MS,
      });
      expect(await sameOnB.get('kept')).toBe(1);
    });

    it('reset() clears only its own cache; other caches and other apps on the backend keep their keys', async () => {
      const [a, b] = await nodes(2);
      const [other] = await nodes(1, { name: randomName('ck-other') });
      const users = a!.cacheManager.createCache({ name: 'users' });
      const posts = a!.cacheManager.createCache({ name: 'posts' });
      const otherUsers = other!.cacheManager.createCache({ name: 'users' });
      await users.set('1', 'ada');
      await posts.set('1', 'hello');
      await otherUsers.set('1', 'grace');
      await a!.cache.set('1', 'default');

      // Same cache name and key in another app: a separate value.
      expect(await otherUsers.get('1')).toBe('grace');
      await b!.cacheManager.createCache({ name: 'users' }).reset();

      expect(await users.get('1')).toBeUndefined();
      expect(await posts.get('1')).toBe('hello');
      expect(await otherUsers.get('1')).toBe('grace');
      expect(await a!.cache.get('1')).toBe('default');
    });

    it('mset, mget and mdel several keys (pairs or { key, value } entries)', async () => {
      const [a, b] = await nodes(2);
      await a!.cache.mset([
        ['a', 1],
        ['b', { deep: [true] }],
      ]);
      await a!.cache.mset([{ key: 'c', value: 'three' }], LONG_TTL_MS);
      expect(await b!.cache.mget('a', 'b', 'c', 'missing')).toEqual([1, { deep: [true] }, 'three', undefined]);
      expect(await b!.cache.mget(['c', 'a'])).toEqual(['three', 1]);
      expect(await b!.cache.mdel('a', 'missing')).toBe(1);
      expect(await b!.cache.mdel(['b', 'c'])).toBe(2);
      expect(await a!.cache.mget('a', 'b', 'c')).toEqual([undefined, undefined, undefined]);
      expect(await a!.cache.mget([])).toEqual([]);
    });

    it('wrap runs the loader once for 50 concurrent calls on a node, then serves the cached value', async () => {
      const [a, b] = await nodes(2);
      const gate = deferred();
      let calls = 0;
      const loader = async () => {
        calls += 1;
        await gate.promise;
        return { computed: true };
      };
      const all = Array.from({ length: 50 }, () => a!.cache.wrap('report', loader, LONG_TTL_MS));
      gate.resolve();
      const results = await within(Promise.all(all), DEADLINE_MS, '50 wraps');
      expect(calls).toBe(1);
      for (const result of results) expect(result).toEqual({ computed: true });
      // Stored for every node: another node's wrap is a hit.
      expect(await b!.cache.wrap('report', loader)).toEqual({ computed: true });
      expect(calls).toBe(1);
    });

    it('wrap: a throwing loader rejects every waiter and caches nothing', async () => {
      const [a] = await nodes(1);
      const gate = deferred();
      const boom = new Error('loader failed');
      let calls = 0;
      const failing = async () => {
        calls += 1;
        await gate.promise;
        throw boom;
      };
      const all = Array.from({ length: 10 }, () =>
        a!.cache.wrap('k', failing).then(
          () => 'ok',
          (e: unknown) => e,
        ),
      );
      gate.resolve();
      const outcomes = await within(Promise.all(all), DEADLINE_MS, 'failed wraps');
      expect(calls).toBe(1);
      for (const outcome of outcomes) expect(outcome).toBe(boom);
      expect(await a!.cache.get('k')).toBeUndefined();
      expect(await a!.cache.wrap('k', () => 'second try')).toBe('second try');
    });

    it('wrapWithCondition stores only cacheable values and bypasses the cache when useCache is false', async () => {
      const [a] = await nodes(1);
      const cache = a!.cache;
      let n = 0;
      const loader = async () => ({ n: ++n });
      // Not cacheable: returned, not stored.
      expect(await cache.wrapWithCondition('k', loader, { isCacheable: (v) => v.n > 1 })).toEqual({ n: 1 });
      expect(await cache.get('k')).toBeUndefined();
      // Cacheable (async predicate): stored with the given ttl.
      expect(
        await cache.wrapWithCondition('k', loader, { isCacheable: async (v) => v.n > 1, ttl: LONG_TTL_MS }),
      ).toEqual({ n: 2 });
      expect(await cache.get('k')).toEqual({ n: 2 });
      // A hit does not call the loader.
      expect(await cache.wrapWithCondition('k', loader)).toEqual({ n: 2 });
      // useCache: false ignores the stored value and writes nothing.
      expect(await cache.wrapWithCondition('k', loader, { useCache: false })).toEqual({ n: 3 });
      expect(await cache.get('k')).toEqual({ n: 2 });
    });

    it("creates caches on any registered store kind, 'memory' always included", async () => {
      const [a] = await nodes(1);
      const defaultKind = a!.cacheManager.store.kind;
      const onDefault = a!.cacheManager.createCache({ name: randomName('c'), store: defaultKind });
      const inMemory = a!.cacheManager.createCache({ name: randomName('c'), store: 'memory', prefix: 'mem' });
      await onDefault.set('k', 'default store');
      await inMemory.set('k', 'memory store');
      expect(await onDefault.get('k')).toBe('default store');
      expect(await inMemory.get('k')).toBe('memory store');
      expect(a!.cacheManager.getCache(inMemory.name)).toBe(inMemory);
      expect(a!.cacheManager.getCache('default')).toBe(a!.cache);
      expect(await codeOf(() => a!.cacheManager.getCache(randomName('none')))).toBe(ErrorCodes.NOT_FOUND);
    });

    it('refuses bad input at the call with a coded error', async () => {
      const [a] = await nodes(1, { maxPayloadBytes: 1024 });
      const cache = a!.cache;
      const cyclic: Record<string, unknown> = {};
      cyclic.self = cyclic;
      const cases: [string, () => unknown, string][] = [
        ['empty key', () => cache.get(''), ErrorCodes.INVALID_NAME],
        ['control char key', () => cache.set('a\tb', 1), ErrorCodes.INVALID_NAME],
        ['non-string key', () => cache.del(7 as unknown as string), ErrorCodes.INVALID_NAME],
        ['bad key in mget', () => cache.mget('ok', ''), ErrorCodes.INVALID_NAME],
        ['undefined value', () => cache.set('k', undefined), ErrorCodes.INVALID_PAYLOAD],
        ['function value', () => cache.set('k', () => 1), ErrorCodes.INVALID_PAYLOAD],
        ['BigInt value', () => cache.set('k', 10n), ErrorCodes.INVALID_PAYLOAD],
        ['cyclic value', () => cache.set('k', cyclic), ErrorCodes.INVALID_PAYLOAD],
        ['NaN value', () => cache.mset([['k', Number.NaN]]), ErrorCodes.INVALID_PAYLOAD],
        ['too large', () => cache.set('k', 'x'.repeat(2048)), ErrorCodes.PAYLOAD_TOO_LARGE],
        ['ttl 0', () => cache.set('k', 1, 0), ErrorCodes.INVALID_OPTION],
        ['negative ttl', () => cache.mset([['k', 1]], -1), ErrorCodes.INVALID_OPTION],
        ['NaN ttl', () => cache.wrap('k', () => 1, Number.NaN), ErrorCodes.INVALID_OPTION],
        ['Infinity ttl', () => cache.set('k', 1, Number.POSITIVE_INFINITY), ErrorCodes.INVALID_OPTION],
        [
          'bad mset entry',
          () => cache.mset([['only-key'] as unknown as [string, unknown]]),
          ErrorCodes.INVALID_ARGUMENT,
        ],
        ['loader not a function', () => cache.wrap('k', 'nope' as unknown as () => 1), ErrorCodes.INVALID_ARGUMENT],
        [
          'unknown wrap option',
          () => cache.wrapWithCondition('k', () => 1, { cache: false } as object),
          ErrorCodes.UNKNOWN_OPTION,
        ],
        ['unknown store', () => a!.cacheManager.createCache({ name: 'x', store: 'nope' }), ErrorCodes.INVALID_OPTION],
        ['bad cache name', () => a!.cacheManager.createCache({ name: '' }), ErrorCodes.INVALID_NAME],
        ['bad cache ttl', () => a!.cacheManager.createCache({ name: 'x', ttl: -1 }), ErrorCodes.INVALID_OPTION],
        [
          'unknown createCache option',
          () => a!.cacheManager.createCache({ name: 'x', tll: 5 } as never),
          ErrorCodes.UNKNOWN_OPTION,
        ],
      ];
      for (const [what, call, code] of cases) expect(await codeOf(call), what).toBe(code);
      // None of the refused writes reached the store.
      expect(await cache.get('k')).toBeUndefined();
    });

    cacheNocobaseSuite((count) => nodes(count));

    describe('default store as a portable key/value store', () => {
      it('set with nx is atomic across nodes: exactly one of several concurrent writers wins', async () => {
        const apps = await nodes(3);
        const key = `${cluster.name}:kv:${randomName('nx')}`;
        const wins = await Promise.all(
          apps.flatMap((app, i) => [0, 1].map((j) => app.cacheManager.store.set(key, `${i}-${j}`, { nx: true }))),
        );
        expect(wins.filter(Boolean)).toHaveLength(1);
        await apps[0]!.cacheManager.store.del(key);
      });

      it('incr is atomic across nodes and expire/pttl report the lifetime', async () => {
        const apps = await nodes(3);
        const store = apps[0]!.cacheManager.store;
        const key = `${cluster.name}:kv:${randomName('n')}`;
        const results = await Promise.all(
          apps.flatMap((app) => Array.from({ length: 10 }, () => app.cacheManager.store.incr(key))),
        );
        expect([...results].sort((x, y) => x - y)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
        expect(await store.incr(key, 5)).toBe(35);
        expect(await store.pttl(key)).toBe(-1);
        expect(await store.expire(key, LONG_TTL_MS)).toBe(true);
        const ttl = await store.pttl(key);
        expect(ttl).toBeGreaterThan(0);
        expect(ttl).toBeLessThanOrEqual(LONG_TTL_MS);
        expect(await store.pttl(`${key}:missing`)).toBe(-2);
        expect(await store.expire(`${key}:missing`, LONG_TTL_MS)).toBe(false);
        await store.expire(key, SHORT_TTL_MS);
        await vi.waitFor(async () => expect(await store.get(key)).toBeUndefined(), { timeout: DEADLINE_MS });
      });

      it('scan and clear touch exactly the keys under a prefix', async () => {
        const [a, b] = await nodes(2);
        const base = `${cluster.name}:kv:${randomName('scan')}`;
        const inside = Array.from({ length: 25 }, (_, i) => `${base}:in:${i}`);
        const outside = `${base}:out`;
        await a!.cacheManager.store.mset([...inside, outside].map((key) => [key, '1'] as const));
        const seen: string[] = [];
        for await (const key of b!.cacheManager.store.scan(`${base}:in:`)) seen.push(key);
        expect(new Set(seen)).toEqual(new Set(inside));
        await b!.cacheManager.store.clear(`${base}:in:`);
        expect(await a!.cacheManager.store.mget(inside.slice(0, 3))).toEqual([undefined, undefined, undefined]);
        expect(await a!.cacheManager.store.get(outside)).toBe('1');
        await a!.cacheManager.store.del(outside);
      });
    });
  });
}
