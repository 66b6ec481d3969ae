/**
 * The first start after a burst of delayed jobs comes due. A fetch promotes only a batch of due
 * delayed jobs (bull-promote-limit.ts): the first job starts after one small promotion instead of
 * after all of them, and every due job still starts, oldest first. And a worker that wakes to many
 * ready jobs starts the first one after one fetch (eager-worker.ts), not after fetching
 * `concurrency` jobs one round trip at a time.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createRedisAdapters } from '../../adapters/redis/index.js';
import { bullKey } from '../../adapters/redis/bull-names.js';
import { PROMOTE_BATCH } from '../../adapters/redis/bull-promote-limit.js';
import type { DeliveryOutcome } from '../../src/adapter-kit.js';
import { deletePrefix, resolveRedisUrl } from '../conformance/redis-factory.js';
import { deferred, randomName, within } from '../helpers.js';

const target = await resolveRedisUrl();
const COUNT = PROMOTE_BATCH * 3;
const DELAY_MS = 50;
const EAGER_CONCURRENCY = 20;
const EAGER_COUNT = 60;
const EAGER_DELAY_MS = 300;

describe.skipIf('skip' in target)('redis: the first start after a burst of delayed jobs', () => {
  const url = 'url' in target ? target.url : '';
  const prefix = randomName('ckt');
  let raw: Redis;

  beforeAll(() => {
    raw = new Redis(url);
  });
  afterAll(async () => {
    await deletePrefix(raw, prefix);
    await raw.quit();
  });

  it('promotes one batch of due delayed jobs per fetch, and still starts every due job in order', async () => {
    const { eventQueue } = createRedisAdapters({ url, prefix });
    await eventQueue.connect();
    try {
      const queue = 'burst';
      let lastDue = 0;
      for (let i = 0; i < COUNT; i += 1) {
        lastDue = Date.now() + DELAY_MS;
        await eventQueue.publish(queue, { id: `m${i}`, body: String(i), priority: 2, delayMs: DELAY_MS });
      }
      // Every job is due before the consumer's first fetch.
      await vi.waitFor(() => expect(Date.now()).toBeGreaterThan(lastDue + 1), { timeout: 5_000, interval: 5 });
      const first = deferred<void>();
      const proceed = deferred<void>();
      const seen: number[] = [];
      const all = deferred<void>();
      const consumer = await eventQueue.consume(queue, { concurrency: 1 }, async (delivery) => {
        seen.push(Number(delivery.body));
        if (seen.length === 1) {
          first.resolve();
          await proceed.promise;
        }
        if (seen.length === COUNT) all.resolve();
        return { type: 'ack' } as DeliveryOutcome;
      });
      try {
        await within(first.promise, 10_000, 'first delivery');
        // One fetch promoted one batch: the others are still in the delayed set.
        expect(await raw.zcard(bullKey(prefix, queue, 'delayed'))).toBe(COUNT - PROMOTE_BATCH);
        proceed.resolve();
        await within(all.promise, 20_000, `${COUNT} deliveries`);
        expect(seen).toEqual(Array.from({ length: COUNT }, (_, i) => i));
      } finally {
        proceed.resolve();
        await consumer.close();
      }
    } finally {
      await eventQueue.close();
    }
  });

  it('starts the first of a burst of due delayed jobs before fetching the others', async () => {
    const { eventQueue } = createRedisAdapters({ url, prefix });
    await eventQueue.connect();
    try {
      const queue = 'burst';
      const all = deferred<void>();
      let started = 0;
      let activeAtFirstStart: Promise<number> | undefined;
      const consumer = await eventQueue.consume(queue, { concurrency: EAGER_CONCURRENCY }, async () => {
        // Sent at once: Redis answers it after at most the fetch already in flight.
        activeAtFirstStart ??= raw.llen(bullKey(prefix, queue, 'active'));
        if ((started += 1) === EAGER_COUNT) all.resolve();
        return { type: 'ack' } as DeliveryOutcome;
      });
      try {
        await Promise.all(
          Array.from({ length: EAGER_COUNT }, (_, i) =>
            eventQueue.publish(queue, { id: `m${i}`, body: String(i), priority: 2, delayMs: EAGER_DELAY_MS }),
          ),
        );
        await within(all.promise, 20_000, `${EAGER_COUNT} deliveries`);
        // Before: the worker fetched all EAGER_CONCURRENCY jobs before starting the first.
        expect(await activeAtFirstStart).toBeLessThanOrEqual(3);
      } finally {
        await consumer.close();
      }
    } finally {
      await eventQueue.close();
    }
  });
});
