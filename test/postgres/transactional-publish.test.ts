/**
 * Transactional publish on PostgreSQL: `eventQueue.publish(channel, message, { transaction })`
 * writes the message in the caller's own transaction, so it exists if and only if the business
 * write commits — with a `pg.PoolClient` after BEGIN and with a Sequelize transaction (as NocoBase
 * passes them), on commit, on rollback, and when the process dies between the write and the commit.
 * Adapters that cannot do it refuse `transaction` with `NOT_SUPPORTED`.
 */
import pg from 'pg';
import { DataTypes, Sequelize } from 'sequelize';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { createApp, ErrorCodes, silentLogger, type App } from 'clusterkit';
import type { PostgresEventQueueAdapter } from 'clusterkit/postgres';
import { codeOf } from '../code-of.js';
import type { TestCluster } from '../conformance/cluster.js';
import { postgresFactory, resolvePostgresUrl } from '../conformance/postgres-factory.js';
import { WorkerProcess } from '../faults/fault-helpers.js';
import { deferred, randomName, within, type Deferred } from '../helpers.js';

const DEADLINE_MS = 10_000;
const target = await resolvePostgresUrl();

if ('skip' in target) {
  describe.skip(`transactional publish (skipped: ${target.skip})`, () => {
    it('needs a PostgreSQL server', () => {});
  });
} else {
  const url = target.url;
  const factory = postgresFactory('postgres', () => url);
  const bizSchema = randomName('ckbiz');
  const orders = `"${bizSchema}".orders`;
  const pool = new pg.Pool({ connectionString: url, max: 4 });
  const sequelize = new Sequelize(url, { logging: false });
  const Order = sequelize.define(
    'order',
    { id: { type: DataTypes.TEXT, primaryKey: true } },
    {
      schema: bizSchema,
      tableName: 'orders',
      timestamps: false,
    },
  );

  describe('transactional publish (PostgreSQL)', () => {
    let cluster: TestCluster;
    let publisher: App;
    let channel: string;
    let handled: string[];
    let marker: Deferred<void>;

    beforeAll(async () => {
      await pool.query(`CREATE SCHEMA "${bizSchema}"; CREATE TABLE ${orders} (id text PRIMARY KEY)`);
    });
    afterAll(async () => {
      await pool.query(`DROP SCHEMA IF EXISTS "${bizSchema}" CASCADE`);
      await pool.end();
      await sequelize.close();
      await target.stop?.();
    });

    beforeEach(async () => {
      cluster = factory.create();
      channel = randomName('tx');
      handled = [];
      marker = deferred();
      publisher = cluster.node();
      const consumer = cluster.node();
      await consumer.eventQueue.subscribe<{ order?: string; marker?: boolean }>(channel, {
        process(message) {
          if (message.marker) marker.resolve();
          else handled.push(message.order!);
        },
      });
      await Promise.all([publisher.start(), consumer.start()]);
    });
    afterEach(async () => {
      await cluster.dispose();
    });

    /** Publishes a marker outside any transaction and waits for it: whatever was visible before it has been taken. */
    async function settled(): Promise<void> {
      await publisher.eventQueue.publish(channel, { marker: true });
      await within(marker.promise, DEADLINE_MS, 'marker handled');
    }

    async function orderExists(id: string): Promise<boolean> {
      return (await pool.query(`SELECT 1 FROM ${orders} WHERE id = $1`, [id])).rowCount === 1;
    }

    it('pg.PoolClient: the message is invisible until COMMIT, then handled', async () => {
      const id = randomName('order');
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        await client.query(`INSERT INTO ${orders} (id) VALUES ($1)`, [id]);
        await publisher.eventQueue.publish(channel, { order: id }, { transaction: client });
        // Not committed: no other connection sees it, no consumer takes it.
        expect(await publisher.eventQueue.counts(channel)).toEqual({ waiting: 0, delayed: 0, active: 0, dead: 0 });
        await settled();
        expect(handled).toEqual([]);
        await client.query('COMMIT');
      } finally {
        client.release();
      }
      await vi.waitFor(() => expect(handled).toEqual([id]), { timeout: DEADLINE_MS, interval: 20 });
      expect(await orderExists(id)).toBe(true);
    });

    it('pg.PoolClient: ROLLBACK leaves neither the business row nor the message', async () => {
      const id = randomName('order');
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        await client.query(`INSERT INTO ${orders} (id) VALUES ($1)`, [id]);
        await publisher.eventQueue.publish(channel, { order: id }, { transaction: client });
        await client.query('ROLLBACK');
      } finally {
        client.release();
      }
      await settled();
      expect(handled).toEqual([]);
      expect(await orderExists(id)).toBe(false);
      expect(await publisher.eventQueue.counts(channel)).toMatchObject({ waiting: 0, delayed: 0, dead: 0 });
    });

    it('Sequelize transaction (as NocoBase uses): committed with the row, or rolled back with it', async () => {
      const kept = randomName('order');
      await sequelize.transaction(async (transaction) => {
        await Order.create({ id: kept }, { transaction });
        await publisher.eventQueue.publish(channel, { order: kept }, { transaction });
      });
      await vi.waitFor(() => expect(handled).toEqual([kept]), { timeout: DEADLINE_MS, interval: 20 });

      const dropped = randomName('order');
      await expect(
        sequelize.transaction(async (transaction) => {
          await Order.create({ id: dropped }, { transaction });
          await publisher.eventQueue.publish(channel, { order: dropped }, { transaction });
          throw new Error('business rule failed');
        }),
      ).rejects.toThrow('business rule failed');
      await settled();
      expect(handled).toEqual([kept]);
      expect(await orderExists(dropped)).toBe(false);
    });

    it('a process killed between the business write and COMMIT leaves neither', async () => {
      const id = randomName('order');
      const appName = randomName('ck-tx-crash');
      const worker = new WorkerProcess('tx-publisher.ts', {
        DATABASE_URL: url,
        CK_PREFIX: (publisher.eventQueue.adapter as PostgresEventQueueAdapter).schema,
        CK_APP: publisher.name,
        CK_CHANNEL: channel,
        CK_TABLE: orders,
        CK_ORDER: id,
        CK_APP_NAME: appName,
      });
      try {
        await worker.next((m) => m.type === 'written', 'row and message written, not committed');
      } finally {
        await worker.kill();
      }
      // The server rolls the transaction back when it notices the connection is gone.
      await vi.waitFor(
        async () => {
          const { rowCount } = await pool.query('SELECT 1 FROM pg_stat_activity WHERE application_name = $1', [
            appName,
          ]);
          expect(rowCount).toBe(0);
        },
        { timeout: DEADLINE_MS, interval: 50 },
      );
      await settled();
      expect(handled).toEqual([]);
      expect(await orderExists(id)).toBe(false);
      expect(await publisher.eventQueue.counts(channel)).toMatchObject({ waiting: 0, delayed: 0, dead: 0 });
    });

    it('refuses what is not an open transaction, with a coded error and nothing written', async () => {
      const q = publisher.eventQueue;
      const client = await pool.connect();
      try {
        // No BEGIN: the write would commit on its own.
        expect(await codeOf(q.publish(channel, 1, { transaction: client }))).toBe(ErrorCodes.INVALID_STATE);
        // A failed transaction.
        await client.query('BEGIN');
        await client.query('SELECT 1/0').catch(() => {});
        expect(await codeOf(q.publish(channel, 2, { transaction: client }))).toBe(ErrorCodes.INVALID_STATE);
        await client.query('ROLLBACK');
        // A failing statement still on the wire when publish looks (the client's status not updated
        // yet): the database refuses the write, and that is INVALID_STATE too, not BACKEND_UNAVAILABLE.
        await client.query('BEGIN');
        const failing = client.query('SELECT 1/0').catch(() => {});
        expect(await codeOf(q.publish(channel, 7, { transaction: client }))).toBe(ErrorCodes.INVALID_STATE);
        await failing;
        await client.query('ROLLBACK');
      } finally {
        client.release();
      }
      expect(await codeOf(q.publish(channel, 3, { transaction: pool }))).toBe(ErrorCodes.INVALID_ARGUMENT);
      expect(await codeOf(q.publish(channel, 4, { transaction: {} }))).toBe(ErrorCodes.INVALID_ARGUMENT);
      expect(await codeOf(q.publish(channel, 5, { transaction: 42 }))).toBe(ErrorCodes.INVALID_OPTION);
      const finished = await sequelize.transaction();
      await finished.commit();
      expect(await codeOf(q.publish(channel, 6, { transaction: finished }))).toBe(ErrorCodes.INVALID_STATE);
      await settled();
      expect(handled).toEqual([]);
    });

    it('adapters without the capability refuse `transaction` with NOT_SUPPORTED', async () => {
      const memory = createApp({ name: randomName('mem'), logger: silentLogger });
      await memory.start();
      try {
        expect(memory.eventQueue.capabilities.transactional ?? false).toBe(false);
        expect(publisher.eventQueue.capabilities.transactional).toBe(true);
        const client = await pool.connect();
        try {
          await client.query('BEGIN');
          expect(await codeOf(memory.eventQueue.publish(channel, 1, { transaction: client }))).toBe(
            ErrorCodes.NOT_SUPPORTED,
          );
          await client.query('ROLLBACK');
        } finally {
          client.release();
        }
        expect(await memory.eventQueue.counts(channel)).toEqual({ waiting: 0, delayed: 0, active: 0, dead: 0 });
      } finally {
        await memory.stop();
      }
    });
  });
}
