/**
 * Setting up the RabbitMQ adapters: bad options are refused at the factory, nothing connects before
 * `app.start()` (and `app.stop()` closes the one shared connection), an unreachable broker fails
 * `start()` with BACKEND_UNAVAILABLE, and the adapters mix with the Redis ones in one app.
 */
import net from 'node:net';
import { createApp, ErrorCodes, silentLogger } from 'clusterkit';
import { createRabbitMQAdapters, MAX_DELAY_LEVEL, queueNames } from 'clusterkit/rabbitmq';
import { createRedisAdapters } from 'clusterkit/redis';
import { describe, expect, it, vi } from 'vitest';
import { deleteTopology, resolveAmqpUrl } from '../conformance/rabbitmq-factory.js';
import { resolveRedisUrl, deletePrefix } from '../conformance/redis-factory.js';
import { deferred, randomName, within } from '../helpers.js';
import { connectionPids, queueExists } from './broker.js';
import { Redis } from 'ioredis';

const target = await resolveAmqpUrl();

describe('rabbitmq adapter setup', () => {
  it('refuses bad options with a coded error, before any connection', () => {
    const cases: [unknown, string][] = [
      [{ urll: 'amqp://x' }, ErrorCodes.UNKNOWN_OPTION],
      [{ url: 'http://localhost' }, ErrorCodes.INVALID_OPTION],
      [{ queueType: 'stream' }, ErrorCodes.INVALID_OPTION],
      [{ deliveryLimit: 0 }, ErrorCodes.INVALID_OPTION],
      [{ unavailableTimeoutMs: 1.5 }, ErrorCodes.INVALID_OPTION],
      [{ prefix: '' }, ErrorCodes.INVALID_NAME],
    ];
    for (const [options, code] of cases) {
      expect(() => createRabbitMQAdapters(options as never), JSON.stringify(options)).toThrow(
        expect.objectContaining({ name: 'ClusterError', code }),
      );
    }
  });

  it('fails start() with BACKEND_UNAVAILABLE when nothing answers at the URL', async () => {
    // A port that was free a moment ago: nothing listens there.
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as net.AddressInfo).port;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    const app = createApp({
      name: randomName('down'),
      logger: silentLogger,
      adapters: createRabbitMQAdapters({
        url: `amqp://guest:guest@127.0.0.1:${port}`,
        initialConnectRetries: 1,
        logger: silentLogger,
      }),
    });
    await expect(app.start()).rejects.toMatchObject({ code: ErrorCodes.BACKEND_UNAVAILABLE });
  });

  it("refuses priority on quorum queues with NOT_SUPPORTED naming queueType: 'classic'", async () => {
    const app = createApp({ name: randomName('app'), logger: silentLogger, adapters: createRabbitMQAdapters() });
    await expect(app.eventQueue.publish('work', 1, { priority: 0 })).rejects.toMatchObject({
      code: ErrorCodes.NOT_SUPPORTED,
      message: expect.stringContaining("queueType: 'classic'"),
    });
  });

  describe.skipIf('skip' in target)('with a broker', () => {
    const url = 'url' in target ? target.url : '';

    it('opens one shared connection on start() and none before; stop() closes it', async () => {
      const prefix = randomName('ckr');
      const adapters = createRabbitMQAdapters({ url, prefix, connectionName: prefix, logger: silentLogger });
      const app = createApp({ name: randomName('app'), logger: silentLogger, adapters });
      await app.pubSubManager.subscribe('ping', () => {});
      expect(await connectionPids(prefix)).toEqual([]);
      await app.start();
      try {
        expect(await connectionPids(prefix)).toHaveLength(1);
      } finally {
        await app.stop();
      }
      await vi.waitFor(async () => expect(await connectionPids(prefix)).toEqual([]), {
        timeout: 10_000,
        interval: 200,
      });
      await deleteTopology(url, adapters.eventQueue.touchedQueues, [adapters.pubSub.exchange]);
    });

    it('declares the managed-job queue and its dead-letter queue only once managed jobs are used', async () => {
      const prefix = randomName('ckr');
      const adapters = createRabbitMQAdapters({ url, prefix, logger: silentLogger });
      const app = createApp({ name: randomName('app'), logger: silentLogger, adapters });
      const managed = queueNames(prefix, app.managedQueue.physicalQueueName);
      await app.start();
      try {
        // Started, and nothing uses managed jobs: neither queue exists.
        expect([await queueExists(url, managed.main), await queueExists(url, managed.dead)]).toEqual([false, false]);
        await app.managedQueue.process({ pluginName: 'p', queueName: 'q', jobName: 'j' }, async () => 'done');
        const { jobId } = await app.managedQueue.enqueue({ pluginName: 'p', queueName: 'q', jobName: 'j', payload: 1 });
        expect(await app.managedQueue.waitForJob(jobId, { timeoutMs: 10_000 })).toBe('done');
        expect([await queueExists(url, managed.main), await queueExists(url, managed.dead)]).toEqual([true, true]);
      } finally {
        await app.stop();
        await deleteTopology(url, adapters.eventQueue.touchedQueues, [adapters.pubSub.exchange]);
      }
    });

    it('hashes names over the 255-byte AMQP limit and still works with them', async () => {
      const prefix = randomName('ckr');
      const adapters = createRabbitMQAdapters({ url, prefix, logger: silentLogger });
      const app = createApp({ name: randomName('app'), logger: silentLogger, adapters });
      const long = `${'ü'.repeat(150)}-${randomName('q')}`;
      const physical = queueNames(prefix, `${app.name}:${long}`);
      expect(Buffer.byteLength(physical.delay(MAX_DELAY_LEVEL))).toBeLessThanOrEqual(255);
      await app.start();
      try {
        const got = deferred<unknown>();
        const heard = deferred<unknown>();
        await app.eventQueue.subscribe(long, { process: (message) => got.resolve(message) });
        await app.pubSubManager.subscribe(long, (message) => heard.resolve(message));
        await app.eventQueue.publish(long, 'queued', { delay: 20 });
        await app.pubSubManager.publish(long, 'broadcast', { skipSelf: false });
        expect(await within(got.promise, 10_000, 'long-named queue')).toBe('queued');
        expect(await within(heard.promise, 10_000, 'long-named channel')).toBe('broadcast');
      } finally {
        await app.stop();
        await deleteTopology(url, adapters.eventQueue.touchedQueues, [adapters.pubSub.exchange]);
      }
    });

    it('mixes with the Redis adapters in one app (Redis locks and cache, RabbitMQ queue and pub/sub)', async (ctx) => {
      const redis = await resolveRedisUrl();
      if ('skip' in redis) return ctx.skip();
      const prefix = randomName('ckr');
      const redisPrefix = randomName('ckrr');
      const rabbit = createRabbitMQAdapters({ url, prefix, logger: silentLogger });
      const app = createApp({
        name: randomName('mixed'),
        logger: silentLogger,
        adapters: { ...createRedisAdapters({ url: redis.url, prefix: redisPrefix, onError: () => {} }), ...rabbit },
      });
      expect(app.eventQueue.adapter).toBe(rabbit.eventQueue);
      await app.start();
      try {
        const got = deferred<unknown>();
        await app.eventQueue.subscribe('work', {
          process: (message) => app.lockManager.runExclusive('job', async () => got.resolve(message)),
        });
        await app.eventQueue.publish('work', { mixed: true });
        expect(await within(got.promise, 10_000, 'handled under a Redis lock')).toEqual({ mixed: true });
        await app.cache.set('k', 1);
        expect(await app.cache.get('k')).toBe(1);
        await app.eventQueue.obliterate('work');
      } finally {
        await app.stop();
        await deleteTopology(url, rabbit.eventQueue.touchedQueues, [rabbit.pubSub.exchange]);
        const client = new Redis(redis.url);
        await deletePrefix(client, redisPrefix);
        client.disconnect();
      }
    });
  });
});
