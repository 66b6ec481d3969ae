/**
 * A private redis-server is killed and started again on the same port: while it is down a
 * producer's publish fails at once with `BACKEND_UNAVAILABLE` (nothing is queued in memory to be
 * lost later); once it is back, producers publish again, workers reconnect and take new messages,
 * and pub/sub subscriptions are active again — without restarting any app.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createApp, ErrorCodes, silentLogger, type App } from 'clusterkit';
import { createRedisAdapters } from 'clusterkit/redis';
import { clusterCodeOf } from '../code-of.js';
import { randomName, within } from '../helpers.js';
import { haveRedisBinaries, startRedisServer, type RedisServer } from './redis-servers.js';

if (!haveRedisBinaries() && process.env.CI === 'true')
  throw new Error('redis-server not found (CI=true: refusing to skip)');

describe.skipIf(!haveRedisBinaries())('redis: a Redis restart', () => {
  let server: RedisServer;
  let worker: App;
  let producer: App;
  const handled: number[] = [];
  const news: unknown[] = [];

  beforeAll(async () => {
    server = await startRedisServer();
    const name = randomName('rs');
    const prefix = randomName('ckt');
    const make = () =>
      createApp({
        name,
        logger: silentLogger,
        adapters: createRedisAdapters({
          url: server.url,
          prefix,
          onError: () => {},
          // A short blocking timeout so the outage below outlasts it (the BullMQ issue 4585 situation).
          eventQueue: { watchdogIntervalMs: 500, drainDelayMs: 1_000 },
        }),
      });
    worker = make();
    producer = make();
    await worker.eventQueue.subscribe('work', { process: (m: { n: number }) => void handled.push(m.n) });
    await worker.pubSubManager.subscribe('news', (m) => void news.push(m));
    await Promise.all([worker.start(), producer.start()]);
  });

  afterAll(async () => {
    await Promise.allSettled([worker?.stop(), producer?.stop()]);
    await server?.destroy();
  });

  it('fails producers fast while Redis is down, and resumes workers and subscriptions once it is back', async () => {
    await producer.eventQueue.publish('work', { n: 1 });
    await vi.waitFor(() => expect(handled).toContain(1), { timeout: 10_000 });

    await server.stop();
    // Every attempt settles quickly with a clear code (the first may race the socket's close event).
    await vi.waitFor(
      async () =>
        expect(
          await within(clusterCodeOf(producer.eventQueue.publish('work', { n: 2 })), 5_000, 'publish settling'),
        ).toBe(ErrorCodes.BACKEND_UNAVAILABLE),
      { timeout: 10_000, interval: 100 },
    );

    await server.start();
    await vi.waitFor(() => producer.eventQueue.publish('work', { n: 3 }), { timeout: 30_000, interval: 200 });
    await vi.waitFor(() => expect(handled).toContain(3), { timeout: 30_000, interval: 50 });

    // The subscriber connection re-subscribed by itself.
    await vi.waitFor(
      async () => {
        await producer.pubSubManager.publish('news', { back: true });
        expect(news).toContainEqual({ back: true });
      },
      { timeout: 15_000, interval: 200 },
    );
  }, 90_000);

  it('resumes workers after an outage longer than their blocking timeout (BullMQ issue 4585)', async () => {
    await server.stop();
    // The outage itself is the scenario: it must outlast the worker's 1 s blocking timeout + 1 s
    // watchdog of BullMQ's, so that the blocking connection is abandoned mid-reconnect.
    await new Promise((r) => setTimeout(r, 3_500));
    await server.start();
    const back = Date.now();
    await vi.waitFor(() => producer.eventQueue.publish('work', { n: 4 }), { timeout: 30_000, interval: 200 });
    await vi.waitFor(() => expect(handled).toContain(4), { timeout: 30_000, interval: 50 });
    console.info(`[measured] worker handled a new message ${Date.now() - back} ms after Redis came back`);
  }, 90_000);
});
