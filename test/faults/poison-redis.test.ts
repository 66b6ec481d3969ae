/**
 * Poison input on the wire (Redis): foreign producers using raw BullMQ and raw ioredis push
 * non-JSON bytes, wrong envelope versions, non-envelope objects and multi-megabyte bodies onto the
 * physical queue and the pub/sub channel. The event queue dead-letters each with a
 * `MALFORMED_MESSAGE` reason and keeps consuming; pub/sub drops each with a logged reason and keeps
 * delivering.
 */
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCodes, type App } from 'clusterkit';
import { deferred, recordingLogger, within } from '../helpers.js';
import { brokerScope, type BrokerScope } from './backends.js';
import { bookkeepingClient, figure, waitUntil } from './fault-helpers.js';

const CHANNEL = 'poison-work';
const TOPIC = 'poison-news';
const HUGE = 5 * 1024 * 1024;

/** BullMQ's name of a clusterkit queue (`{<app>%3A<channel>}`), as the adapter derives it. */
const bullName = (queue: string) =>
  `{${queue.replace(/[%:{}]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)}}`;

describe('faults: poison input on the wire (Redis)', () => {
  let scope: BrokerScope;
  let app: App;
  let raw: Queue;
  const redis = bookkeepingClient();
  const logger = recordingLogger();
  const handled: unknown[] = [];
  const heard: unknown[] = [];

  beforeAll(async () => {
    scope = brokerScope('redis');
    // Short claims so a job BullMQ cannot even parse is noticed as stalled quickly (defaults: 30 s).
    app = scope.app({ logger }, { lockDurationMs: 1_000, stalledIntervalMs: 500, maxStalledCount: 2 });
    await app.eventQueue.subscribe(CHANNEL, { process: (m) => void handled.push(m) });
    await app.pubSubManager.subscribe(TOPIC, (m) => void heard.push(m));
    await app.start();
    raw = new Queue(bullName(`${scope.appName}:${CHANNEL}`), {
      prefix: `${scope.prefix}:q`,
      connection: bookkeepingClient(),
    });
  }, 60_000);

  afterAll(async () => {
    await raw?.close();
    redis.disconnect();
    await scope?.dispose([CHANNEL]);
  }, 60_000);

  it('dead-letters every malformed job with a reason and keeps consuming', async () => {
    const poison: [string, unknown][] = [
      ['non-JSON text', 'this is {not json'],
      ['binary garbage', Buffer.from([0xff, 0xfe, 0x00, 0x9c, 0x80]).toString('latin1')],
      ['envelope version 2', JSON.stringify({ v: 2, id: 'x', publishedAt: Date.now(), message: { n: 1 } })],
      ['envelope version "1" (string)', JSON.stringify({ v: '1', id: 'x', publishedAt: Date.now(), message: 1 })],
      ['envelope without id', JSON.stringify({ v: 1, publishedAt: Date.now(), message: 1 })],
      ['envelope with a negative timeout', JSON.stringify({ v: 1, id: 'x', publishedAt: 1, timeout: -5, message: 1 })],
      ['an object, not an envelope string', { hello: 'world' }],
      ['a JSON array', '[1,2,3]'],
      ['JSON null', null],
      [`${HUGE / 1024 / 1024} MiB of non-JSON`, 'x'.repeat(HUGE)],
      [
        `${HUGE / 1024 / 1024} MiB envelope of version 9`,
        JSON.stringify({ v: 9, id: 'big', publishedAt: 1, message: 'y'.repeat(HUGE) }),
      ],
    ];
    for (const [name, data] of poison) await raw.add(name, data);
    await waitUntil(
      async () => (await app.eventQueue.listDeadLetters(CHANNEL, { limit: 100 })).length >= poison.length,
      60_000,
      'every poison job dead-lettered',
    );
    await app.eventQueue.publish(CHANNEL, { fine: true });
    await waitUntil(() => handled.length === 1, 30_000, 'a valid job handled after the poison');

    const letters = await app.eventQueue.listDeadLetters(CHANNEL, { limit: 100 });
    figure('poison/redis', 'queue: poison jobs pushed / dead-lettered', `${poison.length} / ${letters.length}`);
    figure('poison/redis', 'queue: reasons', [...new Set(letters.map((l) => l.error.message.slice(0, 70)))]);
    expect(letters).toHaveLength(poison.length);
    for (const letter of letters) expect(letter.error.code).toBe(ErrorCodes.MALFORMED_MESSAGE);
    expect(handled).toEqual([{ fine: true }]);
  }, 120_000);

  it('survives a job hash written with raw ioredis whose data is not JSON at all', async () => {
    // What BullMQ's own parser chokes on: the job's `data` field itself is not JSON.
    const base = `${scope.prefix}:q:${bullName(`${scope.appName}:${CHANNEL}`)}`;
    await redis.hset(`${base}:raw-1`, {
      name: 'raw',
      data: '{{{ not json',
      opts: '{}',
      timestamp: String(Date.now()),
      delay: '0',
      priority: '0',
    });
    await redis.lpush(`${base}:wait`, 'raw-1');
    await redis.zadd(`${base}:marker`, 0, '0');
    await app.eventQueue.publish(CHANNEL, { after: 'raw' });
    await waitUntil(
      () => handled.some((m) => (m as { after?: string }).after === 'raw'),
      30_000,
      'a valid job after the raw one',
    );
    expect(handled).toContainEqual({ after: 'raw' });
    // It must not stay claimed forever: within a few of its 1 s claims it must be dead-lettered with a reason.
    // (Before 213bc58 BullMQ could not parse it, the job stalled back to wait and was fetched again
    // forever — `active` stayed 1 and nothing was dead-lettered.)
    const t0 = Date.now();
    const deadline = t0 + 30_000;
    let letter: { error: { message: string } } | undefined;
    while (!letter && Date.now() < deadline) {
      letter = (await app.eventQueue.listDeadLetters(CHANNEL, { limit: 100 })).find((l) => l.id === 'raw-1');
      if (!letter) await new Promise((r) => setTimeout(r, 250));
    }
    const counts = await app.eventQueue.counts(CHANNEL);
    figure(
      'poison/redis',
      'raw ioredis job with non-JSON data',
      `dead-lettered after ${Date.now() - t0} ms (${letter?.error.message ?? 'not dead-lettered'}); counts ${JSON.stringify(counts)}`,
    );
    expect(letter?.error.message ?? 'not dead-lettered').not.toBe('not dead-lettered');
  }, 60_000);

  it('drops malformed pub/sub messages with a logged reason and keeps delivering', async () => {
    const channel = `${scope.prefix}:ps:${scope.appName}:${TOPIC}`;
    // The subscriber really listens on this channel (so the poison below reaches it).
    expect(await redis.pubsub('CHANNELS', channel)).toEqual([channel]);
    const poison = [
      'not json',
      '{"v":2,"from":"x","publishedAt":1,"message":1}',
      '{"v":1,"publishedAt":1,"message":1}',
      '[]',
      'z'.repeat(HUGE),
    ];
    for (const p of poison) await redis.publish(channel, p);
    const got = deferred();
    await app.pubSubManager.subscribe(`${TOPIC}-probe`, () => {});
    const other = scope.app();
    await other.start();
    const before = heard.length;
    await other.pubSubManager.publish(TOPIC, { fine: true });
    await waitUntil(() => heard.length > before, 30_000, 'a valid message after the poison');
    got.resolve();
    await within(got.promise, 1_000);
    const drops = logger.entries.filter((e) => e.meta?.code === ErrorCodes.MALFORMED_MESSAGE);
    figure('poison/redis', 'pub/sub: poison published / drops logged', `${poison.length} / ${drops.length}`);
    expect(heard).toEqual([{ fine: true }]);
    expect(drops).toHaveLength(poison.length);
    for (const drop of drops) expect(typeof drop.meta?.reason).toBe('string');
  }, 60_000);
});
