/**
 * CacheManager on its own, the Cache's namespacing, and the memory store's contract details
 * (LRU bound, Redis-like TTL semantics). Cross-node behaviour lives in test/conformance/cache.suite.ts.
 */
import {
  CacheManager,
  createMemoryBackend,
  ErrorCodes,
  MemoryCacheStore,
  silentLogger,
  standaloneContext,
  type CacheStore,
} from 'clusterkit/adapter-kit';
import { describe, expect, it, vi } from 'vitest';
import { codeOf } from './code-of.js';

const DEADLINE_MS = 10_000;

async function connectedStore(options?: ConstructorParameters<typeof MemoryCacheStore>[1]): Promise<CacheStore> {
  const store = new MemoryCacheStore(createMemoryBackend(), options);
  await store.connect();
  return store;
}

describe('CacheManager standalone', () => {
  it('works without connect() when constructed on its own', async () => {
    const cacheManager = new CacheManager();
    const cache = cacheManager.createCache({ name: 'users' });
    await cache.set('1', 'ada');
    expect(await cache.get('1')).toBe('ada');
    expect(cacheManager.isConnected()).toBe(true);
    await cacheManager.close();
  });

  it('inside an app (a context is given) refuses cache calls before connect() with NOT_CONNECTED', async () => {
    const cacheManager = new CacheManager({ context: standaloneContext({ logger: silentLogger }) });
    const cache = cacheManager.createCache({ name: 'users' });
    expect(await codeOf(() => cache.get('1'))).toBe(ErrorCodes.NOT_CONNECTED);
    await cacheManager.connect();
    await cache.set('1', 'ada');
    await cacheManager.close();
    expect(await codeOf(() => cache.get('1'))).toBe(ErrorCodes.NOT_CONNECTED);
  });

  it('namespaces keys as <app>:cache:<prefix or name>: in the store', async () => {
    const store = new MemoryCacheStore();
    const cacheManager = new CacheManager({ store, context: standaloneContext({ appName: 'shop' }) });
    await cacheManager.connect();
    const users = cacheManager.createCache({ name: 'users' });
    const legacy = cacheManager.createCache({ name: 'legacy', prefix: 'old' });
    expect(users.namespace).toBe('shop:cache:users:');
    expect(legacy.namespace).toBe('shop:cache:old:');
    await users.set('1', { a: 1 });
    expect(await cacheManager.store.get('shop:cache:users:1')).toBe('{"a":1}');
    expect(cacheManager.store).toBe(store);
    await cacheManager.close();
  });

  it('reads a non-JSON value written under its namespace through the raw store as a miss', async () => {
    const logger = { ...silentLogger, warn: vi.fn() };
    const cacheManager = new CacheManager({ context: standaloneContext({ logger }) });
    await cacheManager.connect();
    const cache = cacheManager.createCache({ name: 'c' });
    await cacheManager.store.set(`${cache.namespace}raw`, 'not json {');
    expect(await cache.get('raw')).toBeUndefined();
    expect(logger.warn).toHaveBeenCalledOnce();
    await cacheManager.close();
  });

  it('registers stores by kind; the built-in memory store may be replaced, other duplicates are refused', async () => {
    const redisLike = Object.assign(new MemoryCacheStore(), { kind: 'kv' }) as CacheStore;
    const cacheManager = new CacheManager({ store: redisLike });
    const shared = new MemoryCacheStore(createMemoryBackend());
    await cacheManager.registerStore(shared);
    expect(await codeOf(() => cacheManager.registerStore(new MemoryCacheStore()))).toBe(ErrorCodes.INVALID_STATE);
    expect(await codeOf(() => cacheManager.registerStore(Object.assign(new MemoryCacheStore(), { kind: 'kv' })))).toBe(
      ErrorCodes.INVALID_STATE,
    );
    expect(await codeOf(() => cacheManager.registerStore({} as CacheStore))).toBe(ErrorCodes.INVALID_ARGUMENT);
    const onDefault = cacheManager.createCache({ name: 'a' });
    const onMemory = cacheManager.createCache({ name: 'b', store: 'memory' });
    await onDefault.set('k', 1);
    await onMemory.set('k', 2);
    expect(await redisLike.get(`${onDefault.namespace}k`)).toBe('1');
    expect(await shared.get(`${onMemory.namespace}k`)).toBe('2');
    await cacheManager.close();
  });

  it('setAdapter() replaces the default store before connect and is refused after', async () => {
    const cacheManager = new CacheManager();
    const store = new MemoryCacheStore();
    cacheManager.setAdapter(store);
    expect(cacheManager.store).toBe(store);
    await cacheManager.connect();
    expect(() => cacheManager.setAdapter(new MemoryCacheStore())).toThrow(
      expect.objectContaining({ code: ErrorCodes.INVALID_STATE }),
    );
    await cacheManager.close();
  });

  it('creating a cache name again replaces the registry entry', async () => {
    const cacheManager = new CacheManager();
    const first = cacheManager.createCache({ name: 'x' });
    const second = cacheManager.createCache({ name: 'x', ttl: 1000 });
    expect(first).not.toBe(second);
    expect(cacheManager.getCache('x')).toBe(second);
    expect(() => new CacheManager({ stores: [] } as never)).toThrow(
      expect.objectContaining({ code: ErrorCodes.UNKNOWN_OPTION }),
    );
  });
});

describe('MemoryCacheStore', () => {
  it('refuses calls before connect', async () => {
    expect(await codeOf(() => new MemoryCacheStore().get('k'))).toBe(ErrorCodes.NOT_CONNECTED);
  });

  it('evicts the least recently used entries past maxEntries', async () => {
    const store = await connectedStore({ maxEntries: 3 });
    await store.mset([
      ['a', '1'],
      ['b', '2'],
      ['c', '3'],
    ]);
    expect(await store.get('a')).toBe('1'); // touch: b is now the least recently used
    await store.set('d', '4');
    expect(await store.mget(['a', 'b', 'c', 'd'])).toEqual(['1', undefined, '3', '4']);
  });

  it('validates maxEntries (an integer >= 1, or Infinity)', () => {
    expect(() => new MemoryCacheStore(createMemoryBackend(), { maxEntries: 0 })).toThrow(
      expect.objectContaining({ code: ErrorCodes.INVALID_OPTION }),
    );
    expect(() => new MemoryCacheStore(createMemoryBackend(), { maxEntries: Infinity })).not.toThrow();
  });

  it('follows Redis semantics: nx, a plain set clears the ttl, incr keeps it, integers only', async () => {
    const store = await connectedStore();
    expect(await store.set('k', 'v', { ttlMs: 60_000, nx: true })).toBe(true);
    expect(await store.set('k', 'w', { nx: true })).toBe(false);
    expect(await store.pttl('k')).toBeGreaterThan(0);
    await store.set('k', 'w');
    expect(await store.pttl('k')).toBe(-1);
    expect(await store.incr('n', 2, 60_000)).toBe(2);
    expect(await store.incr('n', -5)).toBe(-3);
    expect(await store.pttl('n')).toBeGreaterThan(0);
    expect(await codeOf(() => store.incr('k'))).toBe(ErrorCodes.INVALID_ARGUMENT);
    expect(await store.del('k')).toBe(true);
    expect(await store.mdel(['k', 'n', 'n'])).toBe(1);
  });

  it('lets nx win again once the key has expired', async () => {
    const store = await connectedStore();
    await store.set('lease', 'a', { ttlMs: 50, nx: true });
    await vi.waitFor(async () => expect(await store.set('lease', 'b', { nx: true })).toBe(true), {
      timeout: DEADLINE_MS,
    });
    expect(await store.get('lease')).toBe('b');
  });

  it('scans large key sets in batches without skipping any', async () => {
    const store = await connectedStore();
    const keys = Array.from({ length: 1200 }, (_, i) => `p:${i}`);
    await store.mset(keys.map((key) => [key, '1'] as const));
    await store.set('q:0', '1');
    const seen: string[] = [];
    for await (const key of store.scan('p:')) seen.push(key);
    expect(seen).toHaveLength(1200);
    await store.clear('p:');
    expect(await store.get('p:7')).toBeUndefined();
    expect(await store.get('q:0')).toBe('1');
  });
});
