/**
 * A worker that wakes to many ready jobs starts the first one after one fetch (eager-worker.ts), not
 * after fetching `concurrency` jobs one round trip at a time.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedisAdapters } from '../../adapters/redis/index.js';
import { bullKey } from '../../adapters/redis/bull-names.js';
import type { DeliveryOutcome } from '../../src/adapter-kit.js';
import { deletePrefix, resolveRedisUrl } from '../conformance/redis-factory.js';
import { deferred, randomName, within } from '../helpers.js';

const target = await resolveRedisUrl();
const CONCURRENCY = 20;
const COUNT = 60;
const DELAY_MS = 300;

describe.skipIf('skip' in target)('redis worker start after a wake-up', () => {
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

  it('starts the first of a burst of due delayed jobs before fetching the others', async () => {
    const { eventQueue } = createRedisAdapters({ url, prefix });
    await eventQueue.connect();
    try {
      const queue = 'burst';
      const all = deferred<void>();
      let started = 0;
      let activeAtFirstStart: Promise<number> | undefined;
      const consumer = await eventQueue.consume(queue, { concurrency: CONCURRENCY }, async () => {
        // Sent at once: Redis answers it after at most the fetch already in flight.
        activeAtFirstStart ??= raw.llen(bullKey(prefix, queue, 'active'));
        if ((started += 1) === COUNT) all.resolve();
        return { type: 'ack' } as DeliveryOutcome;
      });
      try {
        await Promise.all(
          Array.from({ length: COUNT }, (_, i) =>
            eventQueue.publish(queue, { id: `m${i}`, body: String(i), priority: 2, delayMs: DELAY_MS }),
          ),
        );
        await within(all.promise, 20_000, `${COUNT} deliveries`);
        // Before: the worker fetched all CONCURRENCY jobs before starting the first.
        expect(await activeAtFirstStart).toBeLessThanOrEqual(3);
      } finally {
        await consumer.close();
      }
    } finally {
      await eventQueue.close();
    }
  });
});
