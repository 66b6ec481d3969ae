/**
 * The Redis publisher's fallback: when BullMQ's add scripts cannot be wrapped (a BullMQ that
 * registers them differently), every job is prioritized (no plain path, so no ordering risk) and a
 * caller-given id is freed from a completed job in one MULTI with the add. The conformance suites
 * cover the wrapped path; here the publisher is built with the wrap turned off.
 */
import { Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { describe, expect, it, vi } from 'vitest';
import { bullKey, bullPrefix, bullQueueName } from '../../adapters/redis/bull-names.js';
import { resolveRedisUrl } from '../conformance/redis-factory.js';
import { connectionsFixture, queuePublisher } from './connections-fixture.js';
import { deferred, within } from '../helpers.js';

const target = await resolveRedisUrl();

describe.skipIf('skip' in target)('redis publisher without wrapped add scripts (fallback)', () => {
  const url = 'url' in target ? target.url : '';
  const fx = connectionsFixture(url, 'ckt');

  it('prioritizes every job and frees a completed job id in one MULTI', async () => {
    const queue = 'fallback';
    const { q, publisher } = await queuePublisher(fx, queue, false);
    const record = { id: 'order:1', body: '"first"', priority: 2, delayMs: 0, callerId: true };
    await publisher.publish(q, queue, record);
    const key = (type: string) => bullKey(fx.prefix, queue, type);
    expect(await fx.raw.zscore(key('prioritized'), 'order%3A1')).not.toBeNull();
    expect(await fx.raw.llen(key('wait'))).toBe(0);
    // Marked prioritized, so nodes that do wrap (another BullMQ version) add no plain job after it.
    expect(await fx.raw.hget(key('meta'), 'ck:prioritized')).toBe('1');

    const done = deferred();
    const workerConnection = new Redis(url, { maxRetriesPerRequest: null });
    const worker = new Worker(bullQueueName(queue), async () => done.resolve(), {
      connection: workerConnection,
      prefix: bullPrefix(fx.prefix),
    });
    try {
      await within(done.promise, 10_000, 'first job handled');
      await vi.waitFor(async () => expect(await fx.raw.zscore(key('completed'), 'order%3A1')).not.toBeNull());
      await worker.close();
      await publisher.publish(q, queue, { ...record, body: '"second"' });
      expect(await fx.raw.zscore(key('prioritized'), 'order%3A1')).not.toBeNull();
      expect(await fx.raw.hget(key('order%3A1'), 'data')).toContain('second');
      const history = await fx.raw.zrange(key('completed'), '0', '-1');
      expect(history).toHaveLength(1);
      expect(history[0]).toMatch(/^order%3A1%R\d+$/);
      expect(await fx.raw.hget(key(history[0]!), 'data')).toContain('first');
    } finally {
      await worker.close(true);
      await q.close();
      workerConnection.disconnect();
    }
  });
});
