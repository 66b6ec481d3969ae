/**
 * The Redis lock's uncontended release checks the owner without a pattern capture: the lease value
 * `"<owner> <token>"` must be exactly the caller's owner, a space and digits. Owners may contain
 * spaces and digits, so an owner that is a prefix of the holder's (`a` against `a 5`) must not
 * release, extend or re-acquire the holder's lease.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LockAdapter } from 'clusterkit/adapter-kit';
import { createRedisAdapters } from 'clusterkit/redis';
import { deletePrefix, resolveRedisUrl } from '../conformance/redis-factory.js';
import { randomName } from '../helpers.js';

const target = await resolveRedisUrl();

describe.skipIf('skip' in target)('redis lock: owner check on release', () => {
  const url = 'url' in target ? target.url : '';
  const prefix = randomName('ckt');
  let raw: Redis;
  let lock: LockAdapter;

  beforeAll(async () => {
    raw = new Redis(url);
    const adapters = createRedisAdapters({ url, prefix, onError: () => {} });
    lock = adapters.lock!;
    await lock.connect();
  });
  afterAll(async () => {
    await lock?.close();
    await deletePrefix(raw, prefix);
    await raw.quit();
  });

  it('refuses an owner that is only a prefix of the holder', async () => {
    const key = randomName('k');
    const taken = await lock.tryAcquire(key, 'node 5', 10_000);
    expect(taken.acquired).toBe(true);
    expect(await lock.release(key, 'node')).toBe(false);
    expect(await lock.release(key, 'node 5 ')).toBe(false);
    expect(await lock.extend(key, 'node', 10_000)).toBe(false);
    expect((await lock.tryAcquire(key, 'node', 10_000)).acquired).toBe(false);
    expect(await lock.release(key, 'node 5')).toBe(true);
    // Freed: anyone may take it now.
    expect((await lock.tryAcquire(key, 'node', 10_000)).acquired).toBe(true);
    expect(await lock.release(key, 'node')).toBe(true);
  });

  it('refuses a lease value that is not "<owner> <digits>"', async () => {
    const key = randomName('k');
    await raw.set(`${prefix}:lock:{${key}}`, 'node x', 'PX', 10_000);
    expect(await lock.release(key, 'node')).toBe(false);
    expect(await raw.get(`${prefix}:lock:{${key}}`)).toBe('node x');
  });
});
