/**
 * Poison input on the wire (PostgreSQL): a foreign writer with plain SQL inserts rows whose bodies
 * are not JSON, wrong envelope versions, non-envelope JSON and multi-megabyte garbage, a row leased
 * to a node that no longer exists, and a dead letter whose error is not ours; and sends raw NOTIFY
 * payloads on the pub/sub channel (frames the adapter cannot parse, envelopes the manager refuses,
 * a large-message reference to a garbage row and to a row that does not exist). The event queue
 * dead-letters each poison row with `MALFORMED_MESSAGE` and keeps consuming; pub/sub drops each
 * with a logged reason and keeps delivering.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCodes, type App } from 'clusterkit';
import { notifyChannels } from 'clusterkit/postgres';
import { recordingLogger } from '../helpers.js';
import { brokerScope, type BrokerScope } from './backends.js';
import { DATABASE_URL, figure, waitUntil } from './fault-helpers.js';
import { createHash } from 'node:crypto';

const CHANNEL = 'poison-work';
const TOPIC = 'poison-news';
const HUGE = 5 * 1024 * 1024;
const md5 = (s: string) => createHash('md5').update(s).digest('hex');

describe('faults: poison input on the wire (PostgreSQL)', () => {
  let scope: BrokerScope;
  let app: App;
  const db = new pg.Pool({ connectionString: DATABASE_URL, max: 2 });
  const logger = recordingLogger();
  const handled: unknown[] = [];
  const heard: unknown[] = [];
  let s: string;
  let queue: string;

  beforeAll(async () => {
    scope = brokerScope('postgres');
    // Short leases so the row leased to a vanished node comes back quickly (default 30 s).
    app = scope.app({ logger }, { lockDurationMs: 1_000, stalledIntervalMs: 300 });
    await app.eventQueue.subscribe(CHANNEL, { process: (m) => void handled.push(m) });
    await app.pubSubManager.subscribe(TOPIC, (m) => void heard.push(m));
    await app.start();
    s = `"${scope.prefix}"`;
    queue = `${scope.appName}:${CHANNEL}`;
  }, 60_000);

  afterAll(async () => {
    await db.end();
    await scope?.dispose([CHANNEL]);
  }, 60_000);

  const insert = (id: string, body: string, extra = '', values: unknown[] = []) =>
    db.query(
      `INSERT INTO ${s}.jobs (queue, id, body, priority, seq, run_at${extra ? `, ${extra.split('=')[0]}` : ''})
       VALUES ($1, $2, $3, 2, nextval('${s}.job_seq'), now()${extra ? `, ${extra.split('=')[1]}` : ''})`,
      [queue, id, body, ...values],
    );

  it('dead-letters every malformed row with a reason and keeps consuming', async () => {
    const poison: [string, string][] = [
      ['non-JSON text', 'this is {not json'],
      ['latin-1 garbage', Buffer.from([0xff, 0xfe, 0x9c, 0x80]).toString('latin1')],
      ['envelope version 2', JSON.stringify({ v: 2, id: 'x', publishedAt: Date.now(), message: { n: 1 } })],
      ['envelope version "1" (string)', JSON.stringify({ v: '1', id: 'x', publishedAt: Date.now(), message: 1 })],
      ['envelope without id', JSON.stringify({ v: 1, publishedAt: Date.now(), message: 1 })],
      ['envelope with a negative timeout', JSON.stringify({ v: 1, id: 'x', publishedAt: 1, timeout: -5, message: 1 })],
      ['a JSON array', '[1,2,3]'],
      ['JSON null', 'null'],
      ['empty body', ''],
      [`${HUGE / 1024 / 1024} MiB of non-JSON`, 'x'.repeat(HUGE)],
      [
        `${HUGE / 1024 / 1024} MiB envelope of version 9`,
        JSON.stringify({ v: 9, id: 'big', publishedAt: 1, message: 'y'.repeat(HUGE) }),
      ],
    ];
    for (const [name, body] of poison) await insert(name, body);
    // Leased to a node that died long ago: the reaper hands it back, then it is dead-lettered as malformed.
    await insert('orphaned lease', '{{ orphan', "state, locked_by, locked_until=1, 'ghost', now() - interval '1 hour'");
    // A dead letter written by someone else, with an error that is not clusterkit's JSON.
    await insert('foreign dead letter', 'whatever', "state, error, failed_at=2, 'segfault in plugin', now()");
    const rows = poison.length + 2;
    // No NOTIFY from the foreign writer: the backstop poll finds the rows.
    await waitUntil(
      async () => (await app.eventQueue.listDeadLetters(CHANNEL, { limit: 100 })).length >= rows,
      60_000,
      'every poison row dead-lettered',
    );
    await app.eventQueue.publish(CHANNEL, { fine: true });
    await waitUntil(() => handled.length === 1, 30_000, 'a valid message handled after the poison');

    const letters = await app.eventQueue.listDeadLetters(CHANNEL, { limit: 100 });
    figure('poison/postgres', 'queue: poison rows inserted / dead-lettered', `${rows} / ${letters.length}`);
    figure('poison/postgres', 'queue: reasons', [...new Set(letters.map((l) => l.error.message.slice(0, 70)))]);
    expect(letters).toHaveLength(rows);
    for (const letter of letters) {
      if (letter.id === 'foreign dead letter')
        expect(letter.error).toEqual({ name: 'Error', message: 'segfault in plugin' });
      else expect(letter.error.code, letter.id).toBe(ErrorCodes.MALFORMED_MESSAGE);
    }
    expect(handled).toEqual([{ fine: true }]);
    expect(await app.eventQueue.counts(CHANNEL)).toEqual({ waiting: 0, delayed: 0, active: 0, dead: rows });
  }, 120_000);

  it('refuses rows no statement would ever look at (state outside 0..2, negative attempt)', async () => {
    await expect(insert('parked', 'x', 'state=7')).rejects.toThrow(/check constraint/);
    await expect(insert('negative', 'x', 'attempt=-1')).rejects.toThrow(/check constraint/);
  });

  it('drops malformed pub/sub messages with a logged reason and keeps delivering', async () => {
    const { pubsub } = notifyChannels(scope.prefix);
    const channel = `${scope.appName}:${TOPIC}`;
    const inline = (payload: string) => `i${channel.length}:${channel}${payload}`;
    const big = await db.query<{ id: string }>(
      `INSERT INTO ${s}.pubsub_payloads (channel, payload) VALUES ($1, $2) RETURNING id`,
      [channel, 'z'.repeat(HUGE)],
    );
    // Reach the manager, which must refuse them: malformed envelopes on a real channel.
    const refused = [
      inline('not json'),
      inline('{"v":2,"from":"x","publishedAt":1,"message":1}'),
      inline('{"v":1,"publishedAt":1,"message":1}'),
      inline('[]'),
      `t${big.rows[0]!.id}:${md5(channel)}`,
    ];
    // Frames the adapter cannot even attribute to a channel: ignored.
    const unreadable = ['garbage', 'i99999:short', 'ix:abc', `t999999999:${md5(channel)}`, 'tnot-a-number:abc', ''];
    for (const payload of [...refused, ...unreadable]) await db.query('SELECT pg_notify($1, $2)', [pubsub, payload]);
    const other = scope.app();
    await other.start();
    await other.pubSubManager.publish(TOPIC, { fine: true });
    await waitUntil(() => heard.length > 0, 30_000, 'a valid message after the poison');
    const drops = logger.entries.filter((e) => e.meta?.code === ErrorCodes.MALFORMED_MESSAGE);
    figure(
      'poison/postgres',
      'pub/sub: poison notified (reaching a channel / unattributable) / drops logged',
      `${refused.length} / ${unreadable.length} / ${drops.length}`,
    );
    expect(heard).toEqual([{ fine: true }]);
    expect(drops).toHaveLength(refused.length);
    for (const drop of drops) expect(typeof drop.meta?.reason).toBe('string');
  }, 60_000);
});
