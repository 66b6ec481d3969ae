/**
 * Cache conformance, NocoBase's part: `cache.keys()`, `cache.ttl()`, the `*ValueInObject` methods and
 * `cacheManager.createCounter()`, on the backend's default store, on the in-process 'memory' store
 * and on a store without atomic `incr` / `compareAndSet` (the lock-backed fallbacks). Called from
 * the cache suite, so every backend runs it.
 */
import { ErrorCodes, type App, type CacheStore, type StoreSetOptions } from 'clusterkit';
import { describe, expect, it, vi } from 'vitest';
import { codeOf } from '../code-of.js';
import { randomName } from '../helpers.js';

const DEADLINE_MS = 10_000;
const SHORT_TTL_MS = 200;
const LONG_TTL_MS = 60_000;
const WRITERS = 100;

/**
 * The node's default store without `compareAndSet` and with a non-atomic `incr` declared: what a
 * store that cannot do either looks like to the cache manager. Its keys are the default store's.
 */
class BasicStore implements CacheStore {
  readonly kind = 'basic';
  readonly atomicIncr = false;
  constructor(private readonly inner: CacheStore) {}
  // The inner store is opened and closed by its own manager.
  async connect(): Promise<void> {}
  async close(): Promise<void> {}
  get = (key: string) => this.inner.get(key);
  mget = (keys: readonly string[]) => this.inner.mget(keys);
  set = (key: string, value: string, options?: StoreSetOptions) => this.inner.set(key, value, options);
  mset = (entries: readonly (readonly [string, string])[], ttlMs?: number) => this.inner.mset(entries, ttlMs);
  del = (key: string) => this.inner.del(key);
  mdel = (keys: readonly string[]) => this.inner.mdel(keys);
  incr = (key: string, by?: number, ttlMs?: number) => this.inner.incr(key, by, ttlMs);
  expire = (key: string, ttlMs: number) => this.inner.expire(key, ttlMs);
  pttl = (key: string) => this.inner.pttl(key);
  scan = (prefix: string) => this.inner.scan(prefix);
  clear = (prefix: string) => this.inner.clear(prefix);
}

/** Registers the {@link BasicStore} on every node. */
async function withBasicStore(apps: App[]): Promise<void> {
  for (const app of apps) await app.cacheManager.registerStore(new BasicStore(app.cacheManager.store));
}

/** `n` calls of `call`, spread over `apps` round-robin, all started at once. */
function spread<T>(apps: App[], n: number, call: (app: App, i: number) => Promise<T>): Promise<T[]> {
  return Promise.all(Array.from({ length: n }, (_, i) => call(apps[i % apps.length]!, i)));
}

/** Runs the NocoBase cache cases; `nodes(n)` starts `n` nodes of a fresh cluster. */
export function cacheNocobaseSuite(nodes: (count: number) => Promise<App[]>): void {
  describe('NocoBase cache methods', () => {
    it('keys() lists only this cache’s keys, filtered by a Redis-style glob', async () => {
      const [a, b] = await nodes(2);
      const name = randomName('c');
      const cache = a!.cacheManager.createCache({ name });
      const other = a!.cacheManager.createCache({ name: `${name}-other` });
      await cache.mset([
        ['user:1', 1],
        ['user:2', 2],
        ['user:10', 10],
        ['role:admin', 'a'],
        ['a*b', 'star'],
      ]);
      await other.set('user:3', 3);
      const onB = b!.cacheManager.createCache({ name });
      expect(new Set(await onB.keys())).toEqual(new Set(['user:1', 'user:2', 'user:10', 'role:admin', 'a*b']));
      expect(new Set(await onB.keys('user:*'))).toEqual(new Set(['user:1', 'user:2', 'user:10']));
      expect(new Set(await onB.keys('user:?'))).toEqual(new Set(['user:1', 'user:2']));
      expect(new Set(await onB.keys('user:[12]*'))).toEqual(new Set(['user:1', 'user:2', 'user:10']));
      expect(new Set(await onB.keys('user:[^1]'))).toEqual(new Set(['user:2']));
      expect(await onB.keys('a\\*b')).toEqual(['a*b']);
      expect(await onB.keys('nothing:*')).toEqual([]);
    });

    it('ttl() reports the remaining lifetime in ms, -1 without expiry, -2 when missing', async () => {
      const [a, b] = await nodes(2);
      await a!.cache.set('ttl:long', 1, LONG_TTL_MS);
      await a!.cache.set('ttl:forever', 1);
      const ttl = await b!.cache.ttl('ttl:long');
      expect(ttl).toBeGreaterThan(LONG_TTL_MS / 2);
      expect(ttl).toBeLessThanOrEqual(LONG_TTL_MS);
      expect(await b!.cache.ttl('ttl:forever')).toBe(-1);
      expect(await b!.cache.ttl('ttl:missing')).toBe(-2);
    });

    for (const kind of ['default', 'basic'] as const) {
      it(`get/set/delValueInObject edit one field; ${WRITERS} concurrent writers of different fields lose none [${kind} store]`, async () => {
        const apps = await nodes(2);
        if (kind === 'basic') await withBasicStore(apps);
        const name = randomName('obj');
        const store = kind === 'basic' ? 'basic' : undefined;
        const caches = apps.map((app) => app.cacheManager.createCache({ name, store }));
        expect(await caches[0]!.getValueInObject('o', 'x')).toBeUndefined();
        await caches[0]!.setValueInObject('o', 'x', { deep: [1, null, 'two'] });
        expect(await caches[1]!.getValueInObject('o', 'x')).toEqual({ deep: [1, null, 'two'] });
        await caches[1]!.setValueInObject('o', '__proto__', 'just a field');
        expect(await caches[0]!.get('o')).toEqual(
          JSON.parse('{"x":{"deep":[1,null,"two"]},"__proto__":"just a field"}'),
        );
        await caches[0]!.delValueInObject('o', 'x');
        expect(await caches[1]!.getValueInObject('o', 'x')).toBeUndefined();

        await spread(apps, WRITERS, (app, i) => caches[apps.indexOf(app)]!.setValueInObject('many', `f${i}`, i));
        const stored = (await caches[0]!.get<Record<string, number>>('many'))!;
        expect(Object.keys(stored)).toHaveLength(WRITERS);
        for (let i = 0; i < WRITERS; i++) expect(stored[`f${i}`]).toBe(i);
        await spread(apps, WRITERS / 2, (app, i) => caches[apps.indexOf(app)]!.delValueInObject('many', `f${i}`));
        expect(Object.keys((await caches[1]!.get<object>('many'))!)).toHaveLength(WRITERS / 2);

        await caches[0]!.set('scalar', 5);
        expect(await codeOf(() => caches[0]!.setValueInObject('scalar', 'x', 1))).toBe(ErrorCodes.INVALID_STATE);
        expect(await caches[0]!.getValueInObject('scalar', 'x')).toBeUndefined();
        expect(await caches[0]!.get('scalar')).toBe(5);
      });
    }

    it('setValueInObject writes with the cache’s default ttl, as NocoBase does', async () => {
      const [a] = await nodes(1);
      const cache = a!.cacheManager.createCache({ name: randomName('c'), ttl: SHORT_TTL_MS });
      await cache.setValueInObject('o', 'x', 1);
      expect(await cache.ttl('o')).toBeGreaterThan(0);
      await vi.waitFor(async () => expect(await cache.get('o')).toBeUndefined(), { timeout: DEADLINE_MS });
    });

    for (const kind of ['default', 'memory', 'basic'] as const) {
      it(`counters: get/incr/incrby/reset, ttl set at creation, ${WRITERS} concurrent incr are atomic [${kind} store]`, async () => {
        // The in-process 'memory' store is per node unless the backend is memory: count on one node.
        const apps = await nodes(kind === 'memory' ? 1 : 2);
        if (kind === 'basic') await withBasicStore(apps);
        const name = randomName('n');
        const store = kind === 'default' ? undefined : kind;
        const counters = apps.map((app) => app.cacheManager.createCounter({ name, store }));
        const first = counters[0]!;
        const last = counters[counters.length - 1]!;
        expect(await first.get('hits')).toBe(0);
        expect(await first.incr('hits')).toBe(1);
        expect(await last.incrby('hits', 5)).toBe(6);
        expect(await last.incrby('hits', -2)).toBe(4);
        expect(await first.get('hits')).toBe(4);
        await last.reset('hits');
        expect(await first.get('hits')).toBe(0);

        const results = await spread(apps, WRITERS, (app) => counters[apps.indexOf(app)]!.incr('race'));
        expect([...results].sort((x, y) => x - y)).toEqual(Array.from({ length: WRITERS }, (_, i) => i + 1));
        expect(await last.get('race')).toBe(WRITERS);

        // The ttl is set when the counter is created, and later increments do not extend it.
        expect(await first.incr('brief', SHORT_TTL_MS)).toBe(1);
        expect(await last.incrby('brief', 2, LONG_TTL_MS)).toBe(3);
        await vi.waitFor(async () => expect(await first.get('brief')).toBe(0), { timeout: DEADLINE_MS });
      });
    }

    it('a counter shares the namespace of the cache of its name', async () => {
      const [a] = await nodes(1);
      const name = randomName('n');
      const counter = a!.cacheManager.createCounter({ name });
      await counter.incrby('k', 7);
      expect(await a!.cacheManager.createCache({ name }).get('k')).toBe(7);
      const prefixed = a!.cacheManager.createCounter({ name: randomName('n'), prefix: name });
      expect(await prefixed.get('k')).toBe(7);
    });

    it('refuses bad input at the call with a coded error', async () => {
      const [a] = await nodes(1);
      const cache = a!.cache;
      const counter = a!.cacheManager.createCounter({ name: randomName('n') });
      const cases: [string, () => unknown, string][] = [
        ['keys pattern not a string', () => cache.keys(5 as unknown as string), ErrorCodes.INVALID_ARGUMENT],
        ['ttl of an empty key', () => cache.ttl(''), ErrorCodes.INVALID_NAME],
        [
          'objectKey not a string',
          () => cache.setValueInObject('o', 1 as unknown as string, 1),
          ErrorCodes.INVALID_ARGUMENT,
        ],
        ['function field value', () => cache.setValueInObject('o', 'f', () => 1), ErrorCodes.INVALID_PAYLOAD],
        ['empty object key', () => cache.getValueInObject('', 'f'), ErrorCodes.INVALID_NAME],
        ['counter key empty', () => counter.incr(''), ErrorCodes.INVALID_NAME],
        ['incrby a fraction', () => counter.incrby('k', 1.5), ErrorCodes.INVALID_OPTION],
        ['incrby NaN', () => counter.incrby('k', Number.NaN), ErrorCodes.INVALID_OPTION],
        ['counter ttl 0', () => counter.incr('k', 0), ErrorCodes.INVALID_OPTION],
        [
          'unknown counter store',
          () => a!.cacheManager.createCounter({ name: 'x', store: 'nope' }),
          ErrorCodes.INVALID_OPTION,
        ],
        ['bad counter name', () => a!.cacheManager.createCounter({ name: '' }), ErrorCodes.INVALID_NAME],
        [
          'unknown counter option',
          () => a!.cacheManager.createCounter({ name: 'x', ttl: 5 } as never),
          ErrorCodes.UNKNOWN_OPTION,
        ],
      ];
      for (const [what, call, code] of cases) expect(await codeOf(call), what).toBe(code);
      expect(await cache.get('o')).toBeUndefined();
      expect(await counter.get('k')).toBe(0);
    });
  });
}
