/**
 * Name conformance: every key, channel and queue a manager builds comes from (app, name) parts
 * encoded so that two different tuples never meet, whatever the parts contain (`:` included).
 * App `shop` with lock `a:b` is not app `shop:a` with lock `b`; the same holds for event-queue
 * channels, pub/sub channels and cache namespaces, and a cache's `reset()` never reaches a cache
 * whose name merely starts with its own.
 *
 * No fixed sleeps: absence is asserted only after a later marker on the same path has arrived.
 */
import { LockAcquireError, type App } from 'clusterkit';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { counter, deferred, within } from '../helpers.js';
import type { ClusterFactory, TestCluster } from './cluster.js';

const DEADLINE_MS = 10_000;

/** The primitives a backend provides across nodes (RabbitMQ: event queue and pub/sub only). */
export type NamedPrimitive = 'eventQueue' | 'lock' | 'pubSub' | 'cache';

/** Runs the name-collision cases for the primitives `factory`'s backend shares across nodes. */
export function namesSuite(
  factory: ClusterFactory,
  primitives: readonly NamedPrimitive[] = ['eventQueue', 'lock', 'pubSub', 'cache'],
): void {
  describe(`names conformance (${factory.label})`, () => {
    let cluster: TestCluster;
    /** App `<base>` and app `<base>:a`: `<base>` + `a:b` and `<base>:a` + `b` must stay apart. */
    let base: string;

    beforeEach(() => {
      cluster = factory.create();
      base = cluster.name;
    });
    afterEach(async () => {
      await cluster.dispose();
    });

    async function started(name: string, count = 1): Promise<App[]> {
      const apps = Array.from({ length: count }, () => cluster.node({ name }));
      await Promise.all(apps.map((app) => app.start()));
      return apps;
    }

    const has = (p: NamedPrimitive) => primitives.includes(p);

    it.runIf(has('lock'))('app "shop" lock "a:b" and app "shop:a" lock "b" are two locks', async () => {
      const [shop] = await started(base);
      const [shopA] = await started(`${base}:a`);
      const mine = await shop!.lockManager.tryAcquire('a:b');
      let theirs;
      try {
        theirs = await shopA!.lockManager.tryAcquire('b');
      } catch (error) {
        expect.fail(`app "${base}:a" lock "b" was held by app "${base}" lock "a:b": ${String(error)}`);
      }
      await Promise.all([mine.release(), theirs.release()]);
      // And the reverse direction, plus a same-app sanity check that the lock is really held.
      const again = await shopA!.lockManager.tryAcquire('b');
      await expect(shopA!.lockManager.tryAcquire('b')).rejects.toBeInstanceOf(LockAcquireError);
      await again.release();
    });

    it.runIf(has('eventQueue'))('app "shop" channel "a:b" and app "shop:a" channel "b" are two queues', async () => {
      const [shop] = await started(base);
      const [shopA] = await started(`${base}:a`);
      const per = 10;
      const got = { shop: [] as string[], shopA: [] as string[] };
      const all = counter(per * 2);
      await shop!.eventQueue.subscribe<string>('a:b', {
        process(message) {
          got.shop.push(message);
          all.hit();
        },
      });
      await shopA!.eventQueue.subscribe<string>('b', {
        process(message) {
          got.shopA.push(message);
          all.hit();
        },
      });
      // One app's messages, then the other's: shared, the queue would hand both batches to both
      // consumers (round-robin, or whoever is free), never each batch to its own app.
      for (let n = 0; n < per; n++) await shop!.eventQueue.publish('a:b', `shop-${n}`);
      for (let n = 0; n < per; n++) await shopA!.eventQueue.publish('b', `shopA-${n}`);
      await within(all.done, DEADLINE_MS, `${per * 2} messages handled`);
      expect(got.shop.sort()).toEqual(Array.from({ length: per }, (_, n) => `shop-${n}`).sort());
      expect(got.shopA.sort()).toEqual(Array.from({ length: per }, (_, n) => `shopA-${n}`).sort());
      expect(await shop!.eventQueue.counts('a:b')).toMatchObject({ waiting: 0, dead: 0 });
    });

    it.runIf(has('pubSub'))('app "shop" channel "a:b" and app "shop:a" channel "b" never hear each other', async () => {
      const [s1, s2] = await started(base, 2);
      const [a1, a2] = await started(`${base}:a`, 2);
      const heard = { shop: [] as unknown[], shopA: [] as unknown[] };
      const shopGot = deferred();
      const shopAGot = deferred();
      await s2!.pubSubManager.subscribe('a:b', (m) => {
        heard.shop.push(m);
        if (m === 'from-shop') shopGot.resolve();
      });
      await a2!.pubSubManager.subscribe('b', (m) => {
        heard.shopA.push(m);
        if (m === 'from-shopA') shopAGot.resolve();
      });
      // shop:a's message first; once it has arrived, shop's own message is the marker behind it.
      await a1!.pubSubManager.publish('b', 'from-shopA');
      await within(shopAGot.promise, DEADLINE_MS, 'shop:a hears its own message');
      await s1!.pubSubManager.publish('a:b', 'from-shop');
      await within(shopGot.promise, DEADLINE_MS, 'shop hears its own message');
      expect(heard.shop).toEqual(['from-shop']);
      expect(heard.shopA).toEqual(['from-shopA']);
    });

    it.runIf(has('cache'))('reset() of cache "tmp" leaves cache "tmp:x" alone', async () => {
      const [a, b] = await started(base, 2);
      const tmp = a!.cacheManager.createCache({ name: 'tmp' });
      const tmpX = a!.cacheManager.createCache({ name: 'tmp:x' });
      await tmp.set('k', 'tmp value');
      await tmpX.set('k', 'tmp:x value');
      await tmpX.set('only-x', 1);
      // A key of "tmp" that spells the other cache's key must not be the other cache's key either.
      await tmp.set('x:k', 'tmp x:k');
      expect(await tmpX.get('k')).toBe('tmp:x value');
      await b!.cacheManager.createCache({ name: 'tmp' }).reset();
      expect(await tmp.get('k')).toBeUndefined();
      expect(await tmp.get('x:k')).toBeUndefined();
      expect(await tmpX.get('k')).toBe('tmp:x value');
      expect(await tmpX.get('only-x')).toBe(1);
    });

    it.runIf(has('cache'))('app "shop" cache "x:cache:y" and app "shop:cache:x" cache "y" are two caches', async () => {
      const [shop] = await started(base);
      const [other] = await started(`${base}:cache:x`);
      const mine = shop!.cacheManager.createCache({ name: 'x:cache:y' });
      const theirs = other!.cacheManager.createCache({ name: 'y' });
      await mine.set('k', 'mine');
      await theirs.set('k', 'theirs');
      expect(await mine.get('k')).toBe('mine');
      await theirs.reset();
      expect(await mine.get('k')).toBe('mine');
    });
  });
}
