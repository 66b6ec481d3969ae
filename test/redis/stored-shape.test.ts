/**
 * The stored shape of an event-queue message on Redis (adapters/redis/job-shape.ts): messages
 * without a caller-given id are BullMQ jobs under generated ids, with the envelope stored as it is
 * and only retention in the options; dead letters of those are found by record id through the
 * dead-letter index; and jobs stored in the 0.1 shape (encoded record id, envelope as a JSON
 * string, `attempts: 1e9` with the custom backoff type) are still consumed, retried, dead-lettered
 * and re-driven by record id.
 */
import { Queue } from 'bullmq';
import { describe, expect, it, vi } from 'vitest';
import type { App } from 'clusterkit';
import { encodeEnvelope } from 'clusterkit/adapter-kit';
import { counter, deferred, within } from '../helpers.js';
import { resolveRedisUrl } from '../conformance/redis-factory.js';
import { redisApps } from './redis-apps.js';

const target = await resolveRedisUrl();
const FAST = { type: 'fixed', delay: 10 } as const;

describe.skipIf('skip' in target)(
  `redis event queue: stored job shape${'skip' in target ? ` (skipped: ${target.skip})` : ''}`,
  () => {
    const url = 'url' in target ? target.url : '';
    const fixture = redisApps(url, 'stop' in target ? target.stop : undefined);
    const { prefix, node, raw } = fixture;
    const base = (app: App, channel: string) => `${prefix}:q:{${app.name}%3A${channel}}`;
    const deadCount = async (app: App, channel: string, n: number) =>
      vi.waitFor(async () => expect((await app.eventQueue.counts(channel)).dead).toBe(n), { timeout: 10_000 });

    it('stores a message without jobId under a generated id, the envelope unescaped, retention-only options', async () => {
      const app = await node();
      const { id } = await app.eventQueue.publish('plain', { n: 1 });
      await app.eventQueue.publish('plain', { n: 2 }, { jobId: 'given:1' });
      const ids = await raw().lrange(`${base(app, 'plain')}:wait`, 0, -1);
      expect(ids.sort()).toEqual(['1', 'given%3A1']);
      const job = await raw().hgetall(`${base(app, 'plain')}:1`);
      expect(job.data).toBe(encodeEnvelope(id, '{"n":1}', JSON.parse(job.data!).publishedAt as number, {}));
      expect(JSON.parse(job.opts!)).toEqual({
        removeOnComplete: { count: 1000 },
        removeOnFail: { count: 100_000 },
        attempts: 0,
      });
      // A caller-given id is still the BullMQ id (idempotent publish), with the same small shape.
      expect(JSON.parse((await raw().hget(`${base(app, 'plain')}:given%3A1`, 'opts'))!)).not.toHaveProperty('jobId');

      const seen: string[] = [];
      const done = counter(2);
      await app.eventQueue.subscribe('plain', {
        process: (_m, ctx) => {
          seen.push(ctx.id);
          done.hit();
        },
      });
      await within(done.done, 10_000, 'both handled');
      expect(seen.sort()).toEqual([id, 'given:1'].sort());
    });

    it('lists, re-drives and deletes dead letters of generated ids by record id (the dead-letter index)', async () => {
      const app = await node();
      let failing = true;
      const handled = deferred<string>();
      await app.eventQueue.subscribe('dlq', {
        maxRetries: 1,
        backoff: FAST,
        process: (_m, ctx) => {
          if (failing) throw new Error(`no ${ctx.retried}`);
          handled.resolve(ctx.id);
        },
      });
      const published = [];
      for (let n = 0; n < 3; n += 1) published.push((await app.eventQueue.publish('dlq', { n })).id);
      await deadCount(app, 'dlq', 3);

      const letters = await app.eventQueue.listDeadLetters('dlq');
      expect(letters.map((l) => l.id).sort()).toEqual([...published].sort());
      expect(letters[0]).toMatchObject({ attempt: 2, error: { message: 'no 1' } });
      const index = `${base(app, 'dlq')}:ck%dead`;
      expect(Object.keys(await raw().hgetall(index)).sort()).toEqual([...published].sort());

      failing = false;
      const [first, second, third] = published as [string, string, string];
      expect(await app.eventQueue.redrive('dlq', [first, 'no-such-id'])).toBe(1);
      expect(await within(handled.promise, 10_000, 're-driven message handled')).toBe(first);
      expect(await app.eventQueue.deleteDeadLetters('dlq', [second])).toBe(1);
      // What is gone answers 0 again, and leaves the index.
      expect(await app.eventQueue.redrive('dlq', [first, second])).toBe(0);
      expect(Object.keys(await raw().hgetall(index))).toEqual([third]);
      expect((await app.eventQueue.listDeadLetters('dlq')).map((l) => l.id)).toEqual([third]);
      expect(await app.eventQueue.deleteDeadLetters('dlq')).toBe(1);
      expect(await raw().hlen(index)).toBe(0);

      await app.eventQueue.obliterate('dlq');
      expect(await raw().exists(index)).toBe(0);
    });

    it('keeps the dead-letter index near the failed set when retention trims dead letters', async () => {
      const app = await node({ eventQueue: { keepDead: { count: 2 } } });
      await app.eventQueue.subscribe('trim', {
        maxRetries: 0,
        process: () => {
          throw new Error('no');
        },
      });
      const ids: string[] = [];
      for (let n = 0; n < 30; n += 1) ids.push((await app.eventQueue.publish('trim', { n })).id);
      await vi.waitFor(async () => expect(await raw().zcard(`${base(app, 'trim')}:failed`)).toBe(2), {
        timeout: 10_000,
      });
      await vi.waitFor(
        async () => {
          const total = Number(await raw().get(`${base(app, 'trim')}:id`));
          expect(total).toBe(30);
          expect(await raw().llen(`${base(app, 'trim')}:active`)).toBe(0);
        },
        { timeout: 10_000 },
      );
      // Two random entries are checked per dead letter: the index stays far below the 30 that died.
      expect(await raw().hlen(`${base(app, 'trim')}:ck%dead`)).toBeLessThanOrEqual(12);
      const live = (await app.eventQueue.listDeadLetters('trim')).map((l) => l.id);
      expect(live).toHaveLength(2);
      // A trimmed dead letter is not found, whether or not its entry is still there.
      const trimmed = ids.filter((id) => !live.includes(id));
      expect(await app.eventQueue.deleteDeadLetters('trim', trimmed)).toBe(0);
      expect(await app.eventQueue.deleteDeadLetters('trim', live)).toBe(2);
    });

    it('consumes, retries, dead-letters and re-drives a job stored in the shape of 0.1', async () => {
      const app = await node();
      const channel = 'legacy';
      const connection = raw().duplicate();
      const queue = new Queue(`{${app.name}%3A${channel}}`, { connection, prefix: `${prefix}:q` });
      fixture.onCleanup(async () => {
        await queue.close();
        connection.disconnect();
      });
      // As 0.1 stored it: the encoded record id as BullMQ id, the envelope JSON-encoded again, and
      // "unlimited" attempts with the custom backoff type.
      const oldShape = {
        jobId: 'old%3A1',
        attempts: 1_000_000_000,
        backoff: { type: 'clusterkit' },
        removeOnComplete: { count: 1000 },
        removeOnFail: { count: 100_000 },
        priority: 0,
        delay: 0,
        timestamp: Date.now(),
      };
      const body = encodeEnvelope('old:1', '{"legacy":true}', Date.now(), {
        maxRetries: 1,
        backoff: { type: 'fixed', delay: 10, maxDelay: 10, jitter: 0 },
      });
      await queue.add('m', body, oldShape);
      expect((await raw().hget(`${base(app, channel)}:old%3A1`, 'data'))!.startsWith('"{\\"v\\":1')).toBe(true);

      let failing = true;
      const attempts: number[] = [];
      const handled = deferred<{ id: string; message: unknown; retried: number }>();
      await app.eventQueue.subscribe(channel, {
        process: (message, ctx) => {
          attempts.push(ctx.retried);
          if (failing) throw new Error('old no');
          handled.resolve({ id: ctx.id, message, retried: ctx.retried });
        },
      });
      await deadCount(app, channel, 1);
      expect(attempts).toEqual([0, 1]);
      const [letter] = await app.eventQueue.listDeadLetters(channel);
      expect(letter).toMatchObject({ id: 'old:1', message: { legacy: true }, attempt: 2 });

      failing = false;
      expect(await app.eventQueue.redrive(channel, ['old:1'])).toBe(1);
      expect(await within(handled.promise, 10_000, 'old job re-driven')).toEqual({
        id: 'old:1',
        message: { legacy: true },
        retried: 0,
      });
    });
  },
);
