/**
 * Durations beyond one Node timer (2^31−1 ms, ~24.8 days): a 30-day delay is accepted by
 * `eventQueue.publish` and `managedQueue.enqueue` (it is stored as a due time), stays delayed
 * without firing early, and no adapter arms a `setTimeout` it cannot honour (Node would fire it
 * after 1 ms with a `TimeoutOverflowWarning`, and the wake-up would spin). Age filters (`clean`)
 * take any age. Run on every backend that keeps delays itself.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createApp, MAX_DELAY_MS, silentLogger, timerDelay, type ClusterAdapters, type App } from 'clusterkit/adapter-kit';
import { createRedisAdapters } from 'clusterkit/redis';
import { createPostgresAdapters } from 'clusterkit/postgres';
import { deleteRedisPrefix, redisAnswers } from './conformance/redis-factory.js';
import { dropSchema, postgresAnswers, DEFAULT_TEST_DATABASE_URL } from './conformance/postgres-factory.js';
import { deferred, randomName, within } from './helpers.js';

const DAY = 86_400_000;
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const pgUrl = process.env.DATABASE_URL ?? DEFAULT_TEST_DATABASE_URL;
const [redisUp, pgUp] = await Promise.all([redisAnswers(redisUrl), postgresAnswers(pgUrl)]);
if (process.env.CI === 'true' && (!redisUp || !pgUp)) throw new Error('Redis or PostgreSQL does not answer (CI=true)');

interface Backend {
  name: string;
  up: boolean;
  adapters(): { adapters?: ClusterAdapters; cleanup(): Promise<void> };
}

const backends: Backend[] = [
  { name: 'memory', up: true, adapters: () => ({ cleanup: async () => {} }) },
  {
    name: 'redis',
    up: redisUp,
    adapters: () => {
      const prefix = randomName('cklong');
      return {
        adapters: createRedisAdapters({ url: redisUrl, prefix }),
        cleanup: () => deleteRedisPrefix({ url: redisUrl }, prefix),
      };
    },
  },
  {
    name: 'postgres',
    up: pgUp,
    adapters: () => {
      const schema = randomName('cklong');
      return {
        adapters: createPostgresAdapters({ connectionString: pgUrl, schema }),
        cleanup: () => dropSchema(pgUrl, schema),
      };
    },
  },
];

const overflow: string[] = [];
const onWarning = (warning: Error) => {
  if (warning.name === 'TimeoutOverflowWarning') overflow.push(warning.message);
};
beforeAll(() => void process.on('warning', onWarning));
afterAll(() => void process.off('warning', onWarning));

describe('timerDelay', () => {
  it('cuts a wait to what one setTimeout honours', () => {
    expect(timerDelay(30 * DAY)).toBe(2_147_483_647);
    expect(timerDelay(5)).toBe(5);
    expect(timerDelay(-3)).toBe(0);
    expect(MAX_DELAY_MS).toBeGreaterThanOrEqual(365 * DAY);
  });
});

for (const backend of backends) {
  describe.skipIf(!backend.up)(`30-day delays (${backend.name})`, () => {
    let app: App;
    let cleanup: () => Promise<void>;
    beforeAll(async () => {
      const made = backend.adapters();
      cleanup = made.cleanup;
      app = createApp({
        name: randomName('long'),
        logger: silentLogger,
        ...(made.adapters ? { adapters: made.adapters } : {}),
      });
      await app.start();
    });
    afterAll(async () => {
      await app.stop();
      await cleanup();
    });
    afterEach(() => expect(overflow).toEqual([]));

    it('eventQueue.publish takes delay: 30 days; the message waits, no timer overflows', async () => {
      const handled: unknown[] = [];
      await app.eventQueue.subscribe('later', { process: (m) => void handled.push(m) });
      await app.eventQueue.publish('later', { n: 1 }, { delay: 30 * DAY });
      // A round trip through the queue: a message published now is handled, the delayed one is not.
      const now = deferred<void>();
      await app.eventQueue.subscribe('now', { process: () => now.resolve() });
      await app.eventQueue.publish('now', 1);
      await within(now.promise, 10_000, 'an undelayed message');
      await new Promise<void>((resolve) => setImmediate(resolve));
      expect(handled).toEqual([]);
      expect((await app.eventQueue.counts('later')).delayed).toBe(1);
      await expect(app.eventQueue.publish('later', 1, { delayMs: MAX_DELAY_MS + 1 })).rejects.toMatchObject({
        code: 'INVALID_OPTION',
      });
    });

    it('managedQueue.enqueue takes delayMs: 30 days; clean takes any age', async () => {
      const before = Date.now();
      const { jobId } = await app.managedQueue.enqueue({
        pluginName: 'p',
        queueName: 'q',
        jobName: 'j',
        payload: null,
        delayMs: 30 * DAY,
      });
      const job = await app.managedQueue.getJob(jobId);
      expect(job!.state).toBe('delayed');
      expect(job!.timestamps.runAt).toBeGreaterThanOrEqual(before + 30 * DAY);
      expect(await app.managedQueue.clean({ state: 'completed', olderThanMs: 3650 * DAY })).toBe(0);
    });
  });
}
