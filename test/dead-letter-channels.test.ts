/**
 * `eventQueue.deadLetterChannels()` (what `clusterkit dlq channels` prints) on the adapters that
 * keep their own dead letters: PostgreSQL lists this app's channels with dead letters; RabbitMQ,
 * which cannot list its queues over AMQP, refuses with `NOT_SUPPORTED` and says what to do instead.
 * (Memory: test/ops/cli-usability.test.ts; Redis: test/ops/cli-redis-usability.test.ts.)
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createApp, silentLogger, type App } from 'clusterkit';
import { createPostgresAdapters } from 'clusterkit/postgres';
import { createRabbitMQAdapters } from 'clusterkit/rabbitmq';
import { DEFAULT_TEST_DATABASE_URL, dropSchema, postgresAnswers } from './conformance/postgres-factory.js';
import { DEFAULT_TEST_AMQP_URL, rabbitAnswers } from './conformance/rabbitmq-factory.js';
import { randomName } from './helpers.js';

const pgUrl = process.env.DATABASE_URL ?? DEFAULT_TEST_DATABASE_URL;
const amqpUrl = process.env.AMQP_URL ?? DEFAULT_TEST_AMQP_URL;
const [pgUp, amqpUp] = await Promise.all([postgresAnswers(pgUrl), rabbitAnswers(amqpUrl)]);
if (process.env.CI === 'true' && (!pgUp || !amqpUp))
  throw new Error('PostgreSQL or RabbitMQ does not answer (CI=true)');

describe.skipIf(!pgUp)('deadLetterChannels (PostgreSQL)', () => {
  const schema = randomName('ckdlq');
  let app: App;
  let other: App;
  beforeAll(async () => {
    const make = (name: string) =>
      createApp({ name, logger: silentLogger, adapters: createPostgresAdapters({ connectionString: pgUrl, schema }) });
    app = make('dlq-a');
    other = make('dlq-b');
    await app.start();
    await other.start();
  });
  afterAll(async () => {
    await app.stop();
    await other.stop();
    await dropSchema(pgUrl, schema);
  });

  it("lists this app's channels with dead letters and their counts", async () => {
    const fail = { maxRetries: 0, process: () => Promise.reject(new Error('down')) };
    await app.eventQueue.subscribe('hooks:out', fail);
    await other.eventQueue.subscribe('theirs', fail);
    await app.eventQueue.publish('hooks:out', 1);
    await app.eventQueue.publish('hooks:out', 2);
    await other.eventQueue.publish('theirs', 1);
    await vi.waitFor(async () => expect((await app.eventQueue.counts('hooks:out')).dead).toBe(2), { timeout: 20_000 });
    await vi.waitFor(async () => expect((await other.eventQueue.counts('theirs')).dead).toBe(1), { timeout: 20_000 });
    expect(await app.eventQueue.deadLetterChannels()).toEqual([{ channel: 'hooks:out', dead: 2 }]);
    expect(await other.eventQueue.deadLetterChannels()).toEqual([{ channel: 'theirs', dead: 1 }]);
  });
});

describe.skipIf(!amqpUp)('deadLetterChannels (RabbitMQ)', () => {
  it('refuses with NOT_SUPPORTED and points at dlq list <channel>', async () => {
    const app = createApp({
      name: randomName('dlq'),
      logger: silentLogger,
      adapters: createRabbitMQAdapters({ url: amqpUrl }),
    });
    await app.start();
    try {
      await expect(app.eventQueue.deadLetterChannels()).rejects.toMatchObject({
        code: 'NOT_SUPPORTED',
        message: expect.stringContaining('dlq list <channel>'),
      });
    } finally {
      await app.stop();
    }
  });
});
