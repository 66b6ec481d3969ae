/**
 * Bad input at the API: every call of the table in bad-input-table.ts is refused with a
 * `ClusterError` and its stable code — and nothing reaches the broker. Proof on Redis: the set of
 * keys under the app's prefix is the same before and after the whole table (and no queue holds a
 * message); on RabbitMQ: no queue was declared for any channel the table used.
 */
import amqp from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClusterError, type App } from 'clusterkit';
import pg from 'pg';
import { queueNames, type RabbitMQEventQueueAdapter } from 'clusterkit/rabbitmq';
import { brokerScope, type BrokerScope } from './backends.js';
import { BAD_CALLS, CHANNEL, type BadCall } from './bad-input-table.js';
import { AMQP_URL, bookkeepingClient, DATABASE_URL, figure, keysUnder } from './fault-helpers.js';

async function refusal(row: BadCall, app: App): Promise<unknown> {
  try {
    await row.call(app);
  } catch (error) {
    return error;
  }
  return undefined;
}

function expectRefused(error: unknown, row: BadCall): void {
  expect(error, `${row.name}: not refused`).toBeInstanceOf(ClusterError);
  expect((error as ClusterError).code, row.name).toBe(row.code);
  expect((error as ClusterError).message.length, row.name).toBeGreaterThan(10);
}

it('the table has at least 40 invalid calls, over every primitive', () => {
  expect(BAD_CALLS.length).toBeGreaterThanOrEqual(40);
  expect(new Set(BAD_CALLS.map((row) => row.primitive))).toEqual(
    new Set(['eventQueue', 'lock', 'pubSub', 'cache', 'managedQueue']),
  );
  figure('bad-input', 'invalid calls in the table', BAD_CALLS.length);
});

describe('faults: bad input at the API (Redis: all four primitives and managedQueue)', () => {
  let scope: BrokerScope;
  let app: App;
  const redis = bookkeepingClient();
  let before: string[];

  beforeAll(async () => {
    scope = brokerScope('redis');
    app = scope.app();
    await app.start();
    before = await keysUnder(redis, scope.prefix);
  }, 60_000);

  afterAll(async () => {
    redis.disconnect();
    await scope?.dispose([CHANNEL]);
  }, 60_000);

  it.each(BAD_CALLS.map((row) => [row.name, row] as const))('refuses: %s', async (_, row) => {
    expectRefused(await refusal(row, app), row);
  });

  it('unknown ids are answered, not thrown: cancel/retry say not_found, getJob says null', async () => {
    expect(await app.managedQueue.cancel({ jobId: 'no-such-job' })).toEqual({ success: false, reason: 'not_found' });
    expect(await app.managedQueue.retry('no-such-job')).toEqual({ success: false, reason: 'not_found' });
    expect(await app.managedQueue.getJob('no-such-job')).toBeNull();
  });

  it('wrote nothing to Redis: the keys under the prefix are unchanged and no queue holds a message', async () => {
    const after = await keysUnder(redis, scope.prefix);
    figure('bad-input/redis', 'keys under the prefix before / after', `${before.length} / ${after.length}`);
    expect(after).toEqual(before);
    expect(await app.eventQueue.counts(CHANNEL)).toEqual({ waiting: 0, delayed: 0, active: 0, dead: 0 });
    expect(await app.managedQueue.getMetrics()).toEqual({ waiting: 0, active: 0, completed: 0, failed: 0, delayed: 0 });
  });
});

describe('faults: bad input at the API (RabbitMQ: event queue and pub/sub)', () => {
  const rows = BAD_CALLS.filter((row) => row.primitive === 'eventQueue' || row.primitive === 'pubSub');
  let scope: BrokerScope;
  let app: App;
  let touchedBefore: string[];
  const touched = () => [...(app.eventQueue.adapter as RabbitMQEventQueueAdapter).touchedQueues].sort();

  beforeAll(async () => {
    scope = brokerScope('rabbitmq');
    app = scope.app();
    await app.start();
    // The managed queue's physical queue is declared at start; the table must add nothing to it.
    touchedBefore = touched();
  }, 60_000);

  afterAll(async () => {
    await scope?.dispose([CHANNEL, ...Array.from({ length: 6 }, (_, i) => `${CHANNEL}-s${i + 1}`)]);
  }, 60_000);

  it.each(rows.map((row) => [row.name, row] as const))('refuses: %s', async (_, row) => {
    expectRefused(await refusal(row, app), row);
  });

  it('declared no queue on the broker for any channel the table used', async () => {
    expect(touched()).toEqual(touchedBefore);
    const connection = await amqp.connect(AMQP_URL);
    connection.on('error', () => {});
    try {
      for (const channel of [CHANNEL, ...Array.from({ length: 6 }, (_, i) => `${CHANNEL}-s${i + 1}`)]) {
        const ch = await connection.createChannel();
        ch.on('error', () => {});
        // checkQueue closes the channel with 404 NOT_FOUND when the queue does not exist.
        await expect(ch.checkQueue(queueNames(scope.prefix, `${scope.appName}:${channel}`).main)).rejects.toThrow(
          /404|NOT_FOUND/,
        );
      }
    } finally {
      await connection.close().catch(() => {});
    }
    figure('bad-input/rabbitmq', 'invalid calls / queues declared', `${rows.length} / 0`);
  });
});

describe('faults: bad input at the API (PostgreSQL: all four primitives and managedQueue)', () => {
  let scope: BrokerScope;
  let app: App;
  const db = new pg.Pool({ connectionString: DATABASE_URL, max: 1 });
  const tables = ['jobs', 'completed', 'locks', 'lock_waiters', 'pubsub_payloads', 'cache'];
  /** Row count of every table of the scope's schema. */
  const rowCounts = async () => {
    const out: Record<string, number> = {};
    for (const table of tables) {
      const { rows } = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM "${scope.prefix}".${table}`);
      out[table] = rows[0]!.n;
    }
    return out;
  };
  let before: Record<string, number>;

  beforeAll(async () => {
    scope = brokerScope('postgres');
    app = scope.app();
    await app.start();
    before = await rowCounts();
  }, 60_000);

  afterAll(async () => {
    await db.end();
    await scope?.dispose([CHANNEL]);
  }, 60_000);

  it.each(BAD_CALLS.map((row) => [row.name, row] as const))('refuses: %s', async (_, row) => {
    expectRefused(await refusal(row, app), row);
  });

  it('wrote nothing to PostgreSQL: every table of the schema has the rows it had before', async () => {
    const after = await rowCounts();
    figure(
      'bad-input/postgres',
      'rows in the schema before / after',
      `${JSON.stringify(before)} / ${JSON.stringify(after)}`,
    );
    expect(after).toEqual(before);
    expect(await app.eventQueue.counts(CHANNEL)).toEqual({ waiting: 0, delayed: 0, active: 0, dead: 0 });
  });
});
