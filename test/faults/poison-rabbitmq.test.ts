/**
 * Poison input on the wire (RabbitMQ): a foreign producer with a raw amqplib channel publishes
 * non-JSON bytes, invalid UTF-8, wrong envelope versions, bad headers and multi-megabyte bodies
 * straight onto the physical work queue and the pub/sub exchange. The event queue dead-letters
 * each with a `MALFORMED_MESSAGE` reason and keeps consuming; pub/sub drops each with a logged
 * reason and keeps delivering.
 */
import amqp, { type ChannelModel, type ConfirmChannel } from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCodes, type App } from 'clusterkit';
import { pubSubExchange, queueNames } from 'clusterkit/rabbitmq';
import { recordingLogger } from '../helpers.js';
import { brokerScope, type BrokerScope } from './backends.js';
import { AMQP_URL, figure, waitUntil } from './fault-helpers.js';

const CHANNEL = 'poison-work';
const TOPIC = 'poison-news';
const HUGE = 5 * 1024 * 1024;

describe('faults: poison input on the wire (RabbitMQ)', () => {
  let scope: BrokerScope;
  let app: App;
  let connection: ChannelModel;
  let raw: ConfirmChannel;
  const logger = recordingLogger();
  const handled: unknown[] = [];
  const heard: unknown[] = [];

  beforeAll(async () => {
    scope = brokerScope('rabbitmq');
    app = scope.app({ logger });
    await app.eventQueue.subscribe(CHANNEL, { process: (m) => void handled.push(m) });
    await app.pubSubManager.subscribe(TOPIC, (m) => void heard.push(m));
    await app.start();
    connection = await amqp.connect(AMQP_URL);
    connection.on('error', () => {});
    raw = await connection.createConfirmChannel();
  }, 60_000);

  afterAll(async () => {
    await connection?.close().catch(() => {});
    await scope?.dispose([CHANNEL]);
  }, 60_000);

  const send = async (queue: string, body: Buffer, headers: Record<string, unknown> = {}) => {
    raw.sendToQueue(queue, body, { persistent: true, headers });
    await raw.waitForConfirms();
  };

  it('dead-letters every malformed message with a reason and keeps consuming', async () => {
    const queue = queueNames(scope.prefix, `${scope.appName}:${CHANNEL}`).main;
    const poison: [string, Buffer, Record<string, unknown>?][] = [
      ['non-JSON text', Buffer.from('this is {not json')],
      ['invalid UTF-8', Buffer.from([0xff, 0xfe, 0x00, 0x9c, 0x80])],
      ['empty body', Buffer.alloc(0)],
      ['envelope version 2', Buffer.from(JSON.stringify({ v: 2, id: 'x', publishedAt: Date.now(), message: 1 }))],
      ['envelope without publishedAt', Buffer.from(JSON.stringify({ v: 1, id: 'x', message: 1 }))],
      ['a JSON array', Buffer.from('[1,2,3]')],
      ['garbage attempt header', Buffer.from('nope'), { 'x-ck-attempt': 'minus one', 'x-ck-deliver-at': 'soon' }],
      [`${HUGE / 1024 / 1024} MiB of non-JSON`, Buffer.alloc(HUGE, 0x78)],
      [
        `${HUGE / 1024 / 1024} MiB envelope of version 9`,
        Buffer.from(JSON.stringify({ v: 9, id: 'big', publishedAt: 1, message: 'y'.repeat(HUGE) })),
      ],
    ];
    for (const [, body, headers] of poison) await send(queue, body, headers);
    await waitUntil(
      async () => (await app.eventQueue.listDeadLetters(CHANNEL, { limit: 100 })).length >= poison.length,
      60_000,
      'every poison message dead-lettered',
      200,
    );
    await app.eventQueue.publish(CHANNEL, { fine: true });
    await waitUntil(() => handled.length === 1, 30_000, 'a valid message handled after the poison');

    const letters = await app.eventQueue.listDeadLetters(CHANNEL, { limit: 100 });
    figure('poison/rabbitmq', 'queue: poison messages pushed / dead-lettered', `${poison.length} / ${letters.length}`);
    figure('poison/rabbitmq', 'queue: reasons', [...new Set(letters.map((l) => l.error.message.slice(0, 70)))]);
    expect(letters).toHaveLength(poison.length);
    for (const letter of letters) expect(letter.error.code).toBe(ErrorCodes.MALFORMED_MESSAGE);
    expect(handled).toEqual([{ fine: true }]);
  }, 120_000);

  const pubSubPoison = () => [
    Buffer.from('not json'),
    Buffer.from([0xc3, 0x28]),
    Buffer.from('{"v":2,"from":"x","publishedAt":1,"message":1}'),
    Buffer.from('{"v":1,"publishedAt":1,"message":1}'),
    Buffer.alloc(HUGE, 0x7a),
  ];

  /** Publishes `poison` on the topic's routing key, then a valid message; returns the drops logged meanwhile. */
  const poisonThenValid = async (poison: Buffer[], headers: Record<string, unknown>) => {
    const logged = logger.entries.length;
    const before = heard.length;
    const routingKey = `${scope.appName}:${TOPIC}`;
    for (const body of poison) raw.publish(pubSubExchange(scope.prefix), routingKey, body, { headers });
    await raw.waitForConfirms();
    const other = scope.app();
    await other.start();
    await other.pubSubManager.publish(TOPIC, { fine: true });
    await waitUntil(() => heard.length > before, 30_000, 'a valid message after the poison');
    await other.stop();
    return logger.entries
      .slice(logged)
      .filter((e) => e.meta?.code === ErrorCodes.MALFORMED_MESSAGE || /malformed|foreign|dropped/i.test(e.message));
  };

  it('drops malformed pub/sub messages (carrying the channel header) with a logged reason and keeps delivering', async () => {
    const poison = pubSubPoison();
    const drops = await poisonThenValid(poison, { 'x-ck-channel': `${scope.appName}:${TOPIC}` });
    figure(
      'poison/rabbitmq',
      'pub/sub with channel header: poison published / drops logged',
      `${poison.length} / ${drops.length}`,
    );
    expect(heard.at(-1)).toEqual({ fine: true });
    expect(drops).toHaveLength(poison.length);
    for (const drop of drops) expect(typeof drop.meta?.reason).toBe('string');
  }, 60_000);

  it('logs a reason for foreign pub/sub messages without the channel header, and keeps delivering', async () => {
    // Found by this suite: the adapter used to drop these silently. The routing key names the
    // channel, so the manager now decodes them and logs why it drops each.
    const poison = pubSubPoison();
    const drops = await poisonThenValid(poison, {});
    figure(
      'poison/rabbitmq',
      'pub/sub without channel header: poison published / drops logged',
      `${poison.length} / ${drops.length}`,
    );
    expect(heard.at(-1)).toEqual({ fine: true });
    expect(drops).toHaveLength(poison.length);
    for (const drop of drops) expect(typeof drop.meta?.reason).toBe('string');
  }, 60_000);

  it('logs a reason for pub/sub messages whose channel header is not a string, and keeps delivering', async () => {
    const poison = [Buffer.from('{"v":1}'), Buffer.from('not json')];
    const drops = await poisonThenValid(poison, { 'x-ck-channel': 42 });
    figure(
      'poison/rabbitmq',
      'pub/sub with a numeric channel header: poison published / drops logged',
      `${poison.length} / ${drops.length}`,
    );
    expect(heard.at(-1)).toEqual({ fine: true });
    expect(drops).toHaveLength(poison.length);
    for (const drop of drops) {
      expect(drop.meta?.code).toBe(ErrorCodes.MALFORMED_MESSAGE);
      expect(drop.meta?.reason).toMatch(/header is a number/);
    }
  }, 60_000);
});
