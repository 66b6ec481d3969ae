/**
 * Transactional enqueue on PostgreSQL: `managedQueue.enqueue(input, { transaction })` writes the job
 * record AND its ticket on the physical queue in the caller's own transaction — with a
 * `pg.PoolClient` after BEGIN and with a Sequelize transaction (as NocoBase passes them) — so the job
 * exists if and only if the business write commits: on commit it runs, on rollback, a killed
 * process or a destroyed connection there is neither record nor message (no outbox window). A store
 * that cannot write in a database transaction refuses one with `NOT_SUPPORTED` at the call.
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
import { startNode } from '../jobs/jobs-helpers.js';
import { deferred, randomName, within } from '../helpers.js';

const DEADLINE_MS = 10_000;
const JOB = { pluginName: 'shop', queueName: 'orders', jobName: 'ship' };
const target = await resolvePostgresUrl();

if ('skip' in target) {
  describe.skip(`transactional enqueue (skipped: ${target.skip})`, () => {
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
    { schema: bizSchema, tableName: 'orders', timestamps: false },
  );

  describe('transactional enqueue (PostgreSQL)', () => {
    let cluster: TestCluster;
    let producer: App;

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
      // No worker here: whatever reaches the physical queue stays countable.
      producer = await startNode(cluster, { worker: false });
    });
    afterEach(async () => {
      await cluster.dispose();
    });

    /** Neither a job record nor a ticket on the physical queue. */
    async function expectNothing(): Promise<void> {
      expect(await producer.managedQueue.listJobs({ pluginName: JOB.pluginName })).toEqual({ jobs: [], total: 0 });
      expect(await producer.eventQueue.counts(producer.managedQueue.physicalChannel)).toEqual({
        waiting: 0,
        delayed: 0,
        active: 0,
        dead: 0,
      });
    }

    it('pg.PoolClient: record and ticket are invisible until COMMIT, then the job runs', async () => {
      const client = await pool.connect();
      let jobId: string;
      try {
        await client.query('BEGIN');
        await client.query(`INSERT INTO ${orders} (id) VALUES ($1)`, ['o1']);
        ({ jobId } = await producer.managedQueue.enqueue({ ...JOB, payload: 'o1' }, { transaction: client }));
        // Not committed: no other connection sees the record or the ticket.
        expect(await producer.managedQueue.getJob(jobId)).toBeNull();
        await expectNothing();
        await client.query('COMMIT');
      } finally {
        client.release();
      }
      // Committed together: the record is there, its ticket too (nothing pending for the reconciler).
      const record = await producer.managedQueue.jobStore.get(jobId);
      expect(record).toMatchObject({ state: 'waiting', payload: 'o1' });
      expect(record!.ticketPendingSince).toBeUndefined();
      expect(await producer.eventQueue.counts(producer.managedQueue.physicalChannel)).toMatchObject({ waiting: 1 });
      const worker = await startNode(cluster);
      await worker.managedQueue.process(JOB, (job) => `shipped ${job.data as string}`);
      await expect(worker.managedQueue.waitForJob(jobId, { timeoutMs: DEADLINE_MS })).resolves.toBe('shipped o1');
    });

    it('pg.PoolClient: ROLLBACK leaves neither the business row, the record nor the ticket', async () => {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        await client.query(`INSERT INTO ${orders} (id) VALUES ($1)`, ['o2']);
        await producer.managedQueue.enqueue({ ...JOB, payload: 'o2' }, { transaction: client });
        await client.query('ROLLBACK');
      } finally {
        client.release();
      }
      await expectNothing();
      expect((await pool.query(`SELECT 1 FROM ${orders} WHERE id = 'o2'`)).rowCount).toBe(0);
    });

    it('Sequelize transaction (as NocoBase uses): committed with the row, or rolled back with it', async () => {
      const kept = await sequelize.transaction(async (transaction) => {
        await Order.create({ id: 'o3' }, { transaction });
        return producer.managedQueue.enqueue({ ...JOB, payload: 'o3', jobId: 'o3' }, { transaction });
      });
      // No afterCommit hook involved: the job is there the moment the commit returns.
      expect(await producer.managedQueue.getJob(kept.jobId)).toMatchObject({ state: 'waiting' });
      await expect(
        sequelize.transaction(async (transaction) => {
          await Order.create({ id: 'o4' }, { transaction });
          await producer.managedQueue.enqueue({ ...JOB, payload: 'o4', jobId: 'o4' }, { transaction });
          throw new Error('business rule failed');
        }),
      ).rejects.toThrow('business rule failed');
      const { jobs } = await producer.managedQueue.listJobs({ pluginName: JOB.pluginName });
      expect(jobs.map((j) => j.payload)).toEqual(['o3']);
      expect(await producer.eventQueue.counts(producer.managedQueue.physicalChannel)).toMatchObject({ waiting: 1 });
    });

    it('a connection destroyed between the business write and COMMIT leaves neither', async () => {
      const client = new pg.Client({ connectionString: url });
      client.on('error', () => {});
      await client.connect();
      const pid = (await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
      await client.query('BEGIN');
      await client.query(`INSERT INTO ${orders} (id) VALUES ($1)`, ['o5']);
      await producer.managedQueue.enqueue({ ...JOB, payload: 'o5' }, { transaction: client });
      const ended = deferred<void>();
      client.on('end', () => ended.resolve());
      await pool.query('SELECT pg_terminate_backend($1)', [pid]);
      await within(ended.promise, DEADLINE_MS, 'connection closed');
      await expectNothing();
      expect((await pool.query(`SELECT 1 FROM ${orders} WHERE id = 'o5'`)).rowCount).toBe(0);
    });

    it('a process killed (SIGKILL) between the business write and COMMIT leaves neither', async () => {
      const appName = randomName('ck-txq-crash');
      const worker = new WorkerProcess('tx-publisher.ts', {
        DATABASE_URL: url,
        CK_PREFIX: (producer.eventQueue.adapter as PostgresEventQueueAdapter).schema,
        CK_APP: producer.name,
        CK_CHANNEL: 'unused',
        CK_TABLE: orders,
        CK_ORDER: 'o6',
        CK_APP_NAME: appName,
        CK_MODE: 'enqueue',
      });
      try {
        await worker.next((m) => m.type === 'written', 'row and job written, not committed');
      } finally {
        await worker.kill();
      }
      // The server rolls the transaction back once it notices the connection is gone.
      await vi.waitFor(
        async () => {
          const { rowCount } = await pool.query('SELECT 1 FROM pg_stat_activity WHERE application_name = $1', [
            appName,
          ]);
          expect(rowCount).toBe(0);
        },
        { timeout: DEADLINE_MS, interval: 50 },
      );
      await expectNothing();
      expect((await pool.query(`SELECT 1 FROM ${orders} WHERE id = 'o6'`)).rowCount).toBe(0);
    });

    it('refuses what is not an open transaction at the call, and NOT_SUPPORTED where the store cannot', async () => {
      const client = await pool.connect();
      try {
        // No BEGIN: the write would commit on its own.
        expect(await codeOf(producer.managedQueue.enqueue({ ...JOB, payload: 1 }, { transaction: client }))).toBe(
          ErrorCodes.INVALID_STATE,
        );
        // A failed transaction, also when the failing statement is still on the wire.
        await client.query('BEGIN');
        const failing = client.query('SELECT 1/0').catch(() => {});
        expect(await codeOf(producer.managedQueue.enqueue({ ...JOB, payload: 3 }, { transaction: client }))).toBe(
          ErrorCodes.INVALID_STATE,
        );
        await failing;
        await client.query('ROLLBACK');
        const memory = createApp({ name: randomName('mem'), logger: silentLogger });
        await memory.start();
        try {
          await client.query('BEGIN');
          expect(await codeOf(memory.managedQueue.enqueue({ ...JOB, payload: 2 }, { transaction: client }))).toBe(
            ErrorCodes.NOT_SUPPORTED,
          );
          await client.query('ROLLBACK');
        } finally {
          await memory.stop();
        }
      } finally {
        client.release();
      }
      await expectNothing();
    });
  });
}
