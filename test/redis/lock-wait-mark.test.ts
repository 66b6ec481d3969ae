/**
 * The lease's "someone waits" mark (`"<owner> <token>+"`): a release of an unmarked lease skips the
 * line, so the mark must be on the lease whenever the line may hold anyone — set when a waiter joins
 * behind a holder, kept when the lease is handed on to the head while others still wait — and a
 * stale mark (the waiters left) must only cost the full release path, never a lost hand-off.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, ErrorCodes, silentLogger, type App } from 'clusterkit';
import { createRedisAdapters } from 'clusterkit/redis';
import { deletePrefix, resolveRedisUrl } from '../conformance/redis-factory.js';
import { deferred, randomName, within } from '../helpers.js';

const target = await resolveRedisUrl();
const DEADLINE_MS = 10_000;

describe.skipIf('skip' in target)('redis lock: the "someone waits" mark on the lease', () => {
  const url = 'url' in target ? target.url : '';
  const prefix = randomName('ckt');
  const name = randomName('mark');
  let raw: Redis;
  let nodes: App[];
  const lease = (key: string) => raw.get(`${prefix}:lock:{${name}:${key}}`);

  beforeAll(async () => {
    raw = new Redis(url);
    nodes = [0, 1, 2].map(() =>
      createApp({ name, logger: silentLogger, adapters: createRedisAdapters({ url, prefix, onError: () => {} }) }),
    );
    await Promise.all(nodes.map((node) => node.start()));
  });
  afterAll(async () => {
    await Promise.all((nodes ?? []).map((node) => node.stop()));
    await deletePrefix(raw, prefix);
    await raw.quit();
  });

  it('an uncontended lease carries no mark', async () => {
    const key = randomName('k');
    const lock = await nodes[0]!.lockManager.acquire(key);
    expect(await lease(key)).toMatch(/ \d+$/);
    expect(await lock.release()).toBe(true);
    expect(await lease(key)).toBeNull();
  });

  it('marks the lease while others wait, keeps the mark on a hand-off while more wait, and serves them in order', async () => {
    const key = randomName('k');
    const [a, b, c] = nodes as [App, App, App];
    const held = await a.lockManager.acquire(key);
    const order: string[] = [];
    const second = b.lockManager.acquire(key).then((lock) => (order.push('b'), lock));
    await expectEventually(async () => expect(await lease(key)).toMatch(/ \d+\+$/));
    const third = c.lockManager.acquire(key).then((lock) => (order.push('c'), lock));
    await expectEventually(async () => expect(await raw.llen(`${prefix}:lock:{${name}:${key}}:line`)).toBe(2));
    expect(await held.release()).toBe(true);
    const bLock = await within(second, DEADLINE_MS, 'hand-off to b');
    // c still waits: the lease handed to b keeps the mark, so b's release looks at the line.
    expect(await lease(key)).toMatch(/ \d+\+$/);
    expect(await bLock.release()).toBe(true);
    const cLock = await within(third, DEADLINE_MS, 'hand-off to c');
    expect(await lease(key)).toMatch(/ \d+$/);
    expect(order).toEqual(['b', 'c']);
    expect(bLock.fencingToken).toBeGreaterThan(held.fencingToken);
    expect(cLock.fencingToken).toBeGreaterThan(bLock.fencingToken);
    expect(await cLock.release()).toBe(true);
    expect(await lease(key)).toBeNull();
  });

  it('a stale mark (the waiter left) still frees the lease on release, and extend keeps working', async () => {
    const key = randomName('k');
    const held = await nodes[0]!.lockManager.acquire(key);
    await expect(nodes[1]!.lockManager.acquire(key, undefined, { timeout: 100 })).rejects.toMatchObject({
      code: ErrorCodes.LOCK_ACQUIRE_FAILED,
    });
    expect(await lease(key)).toMatch(/ \d+\+$/);
    await held.extend(5_000);
    expect(held.held).toBe(true);
    expect(await held.release()).toBe(true);
    expect(await lease(key)).toBeNull();
    const again = await nodes[2]!.lockManager.tryAcquire(key);
    expect(again.fencingToken).toBeGreaterThan(held.fencingToken);
    expect(await again.release()).toBe(true);
  });

  it('an uncontended release publishes nothing; a release with someone in line announces the hand-off', async () => {
    const key = randomName('k');
    const subscriber = new Redis(url);
    const heard: string[] = [];
    const handOff = deferred<void>();
    subscriber.on('message', (_channel: string, message: string) => {
      heard.push(message);
      if (message.startsWith('g ')) handOff.resolve();
    });
    await subscriber.subscribe(`${prefix}:lock:{${name}:${key}}:released`);
    try {
      const alone = await nodes[0]!.lockManager.acquire(key);
      expect(await alone.release()).toBe(true);
      const held = await nodes[0]!.lockManager.acquire(key);
      const next = nodes[1]!.lockManager.acquire(key);
      await expectEventually(async () => expect(await lease(key)).toMatch(/ \d+\+$/));
      expect(await held.release()).toBe(true);
      await within(handOff.promise, DEADLINE_MS, 'hand-off notification');
      // Messages arrive in publish order: the hand-off is the first one the channel carried.
      expect(heard).toHaveLength(1);
      expect(heard[0]).toMatch(/^g /);
      expect(await (await next).release()).toBe(true);
    } finally {
      await subscriber.quit();
    }
  });

  it('a free lease with a live place in line is not taken by another owner (the uncontended check sees the line)', async () => {
    const key = randomName('k');
    const base = `${prefix}:lock:{${name}:${key}}`;
    // A waiter first in line while the lease is free (its holder's lease just expired).
    const [seconds] = await raw.time();
    await raw.hset(`${base}:places`, 'someone-else', `${Number(seconds) * 1000 + 60_000} 10000`);
    await raw.rpush(`${base}:line`, 'someone-else');
    await expect(nodes[0]!.lockManager.tryAcquire(key)).rejects.toMatchObject({ code: ErrorCodes.LOCK_ACQUIRE_FAILED });
    expect(await lease(key)).toBeNull();
    // Once the place is gone the lock is free for anyone.
    await raw.del(`${base}:places`, `${base}:line`);
    const lock = await nodes[0]!.lockManager.tryAcquire(key);
    expect(await lock.release()).toBe(true);
  });
});

/** Retries `check` until it passes or the deadline passes. */
async function expectEventually(check: () => Promise<void>): Promise<void> {
  const until = Date.now() + DEADLINE_MS;
  for (;;) {
    try {
      await check();
      return;
    } catch (error) {
      if (Date.now() > until) throw error;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }
}
