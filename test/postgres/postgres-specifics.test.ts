/**
 * What only the PostgreSQL adapters do, beyond the conformance suites: migrations raced by nodes
 * starting at once, a LISTEN connection cut under the nodes (subscriptions and consumers come back),
 * pub/sub payloads over NOTIFY's 8,000-byte limit, the maintenance sweep (expired cache rows,
 * retention of completed messages and dead letters), FIFO lock waiters across nodes, and the
 * adapters' own schema only.
 */
import pg from 'pg';
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ErrorCodes, type App, type Lock } from 'clusterkit';
import {
  createPostgresAdapters,
  LATEST_VERSION,
  MIGRATIONS,
  migrate,
  type PgConnections,
  type PostgresCacheStore,
} from 'clusterkit/postgres';
import { codeOf } from '../code-of.js';
import type { ClusterFactory, TestCluster } from '../conformance/cluster.js';
import { dropSchema, postgresFactory, resolvePostgresUrl } from '../conformance/postgres-factory.js';
import { startNodes } from '../conformance/start-nodes.js';
import { deferred, randomName, within } from '../helpers.js';

const DEADLINE_MS = 10_000;
const wait = { timeout: DEADLINE_MS, interval: 20 };
const target = await resolvePostgresUrl();

if ('skip' in target) {
  describe.skip(`postgres specifics (skipped: ${target.skip})`, () => {
    it('needs a PostgreSQL server', () => {});
  });
} else {
  const url = target.url;
  const db = new pg.Pool({ connectionString: url, max: 4 });
  afterAll(async () => {
    await db.end();
    await target.stop?.();
  });
  const schemaOf = (app: App) => (app.eventQueue.adapter as unknown as { schema: string }).schema;
  const count = async (sql: string, values: unknown[] = []) =>
    (await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${sql}`, values)).rows[0]!.n;

  describe('migrations', () => {
    it('run once when several nodes migrate a fresh schema at the same moment', async () => {
      const schema = randomName('ckmig');
      const pools = Array.from({ length: 5 }, () => new pg.Pool({ connectionString: url, max: 1 }));
      try {
        const applied = await Promise.all(pools.map((pool) => migrate(pool, schema)));
        expect(applied.filter((a) => a.length > 0)).toEqual([MIGRATIONS.map((m) => m.version)]);
        expect(await count(`"${schema}".migrations`)).toBe(LATEST_VERSION);
        // Idempotent afterwards.
        expect(await migrate(pools[0]!, schema)).toEqual([]);
        // Only its own schema: every table it made is in it.
        const { rows } = await db.query<{ schemaname: string }>(
          `SELECT DISTINCT schemaname FROM pg_tables WHERE tablename IN ('jobs', 'locks', 'lock_waiters', 'pubsub_payloads', 'cache', 'completed') AND schemaname = $1`,
          [schema],
        );
        expect(rows).toEqual([{ schemaname: schema }]);
      } finally {
        await Promise.all(pools.map((pool) => pool.end()));
        await dropSchema(url, schema);
      }
    });
  });

  it('migration 2 (job store) upgrades a version-1 schema, and applies again cleanly over existing tables', async () => {
    const schema = randomName('ckmig');
    const pool = new pg.Pool({ connectionString: url, max: 1 });
    try {
      await migrate(pool, schema);
      // A schema as version-1 code left it: no job-store tables, version 2 not recorded.
      await db.query(
        `DROP TABLE "${schema}".mj_jobs, "${schema}".mj_paused, "${schema}".mj_schedules, "${schema}".mj_rates;
         DELETE FROM "${schema}".migrations WHERE version = 2`,
      );
      expect(await migrate(pool, schema)).toEqual([2]);
      expect(await count(`"${schema}".mj_jobs`)).toBe(0);
      // Idempotent statements: the tables exist, the record of version 2 is gone, it applies again.
      await db.query(`DELETE FROM "${schema}".migrations WHERE version = 2`);
      expect(await migrate(pool, schema)).toEqual([2]);
    } finally {
      await pool.end();
      await dropSchema(url, schema);
    }
  });

  it('keeps fencing tokens increasing when the schema (and its token sequence) is dropped and made again', async () => {
    const factory = postgresFactory('postgres', () => url);
    const cluster = factory.create();
    try {
      const [a] = await startNodes(cluster, 1);
      const first = await a!.lockManager.acquire('res');
      await first.release();
      await a!.stop();
      await dropSchema(url, schemaOf(a!));
      const [b] = await startNodes(cluster, 1);
      const second = await b!.lockManager.acquire('res');
      await second.release();
      expect(second.fencingToken).toBeGreaterThan(first.fencingToken);
    } finally {
      await cluster.dispose();
    }
  });

  it('durablePublish: false publishes on the consumer pool (no wait for the WAL flush) and delivers; a non-boolean is refused', async () => {
    expect(() =>
      createPostgresAdapters({ connectionString: url, eventQueue: { durablePublish: 'no' as unknown as boolean } }),
    ).toThrow(expect.objectContaining({ code: ErrorCodes.INVALID_OPTION }));
    const factory = postgresFactory(
      'postgres',
      () => url,
      () => ({ eventQueue: { durablePublish: false } }),
    );
    const cluster = factory.create();
    try {
      const [a, b] = await startNodes(cluster, 2);
      const connections = (a!.eventQueue.adapter as unknown as { connections: PgConnections }).connections;
      const relaxed = vi.spyOn(connections, 'queryRelaxed');
      const got = deferred<unknown>();
      await b!.eventQueue.subscribe('fast', { process: (message) => got.resolve(message) });
      await a!.eventQueue.publish('fast', { n: 1 });
      expect(await within(got.promise, DEADLINE_MS, 'the message')).toEqual({ n: 1 });
      expect(relaxed.mock.calls.some(([what]) => what === 'publish')).toBe(true);
    } finally {
      await cluster.dispose();
    }
  });

  describe('on a cluster', () => {
    let factory: ClusterFactory;
    let cluster: TestCluster;
    beforeEach(() => {
      factory = postgresFactory(
        'postgres',
        () => url,
        () => ({
          maintenanceIntervalMs: 0,
          eventQueue: { keepCompleted: { count: 3 }, keepDead: { count: 2 } },
        }),
      );
      cluster = factory.create();
    });
    afterEach(async () => {
      await cluster.dispose();
    });

    it('comes back after its LISTEN connection is cut: pub/sub subscriptions and queue wake-ups', async () => {
      const [a, b] = await startNodes(cluster, 2);
      const heard: unknown[] = [];
      await a!.pubSubManager.subscribe('news', (m) => void heard.push(m));
      const got = deferred<unknown>();
      await a!.eventQueue.subscribe('work', { process: (m) => got.resolve(m) });
      const { rowCount } = await db.query(
        'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1',
        [`clusterkit-listen:${schemaOf(a!)}`],
      );
      expect(rowCount).toBe(2);
      // Subscriptions made before the cut hear messages sent after the reconnect.
      await vi.waitFor(async () => {
        await b!.pubSubManager.publish('news', 'after the cut');
        expect(heard).toContain('after the cut');
      }, wait);
      await b!.eventQueue.publish('work', { n: 1 });
      expect(await within(got.promise, DEADLINE_MS, 'message after the cut')).toEqual({ n: 1 });
    });

    it('carries pub/sub messages far over 8,000 bytes through the payload table, in order', async () => {
      const [a, b] = await startNodes(cluster, 2);
      const heard: string[] = [];
      await b!.pubSubManager.subscribe('big', (m: string) => void heard.push(m));
      const big = 'é'.repeat(100_000);
      await a!.pubSubManager.publish('big', 'small-1');
      await a!.pubSubManager.publish('big', big);
      await a!.pubSubManager.publish('big', 'small-2');
      await vi.waitFor(() => expect(heard).toHaveLength(3), wait);
      expect(heard).toEqual(['small-1', big, 'small-2']);
      expect(await count(`"${schemaOf(a!)}".pubsub_payloads`)).toBe(1);
    });

    it('sweeps expired cache rows and trims completed messages and dead letters to their retention', async () => {
      const [a] = await startNodes(cluster, 1);
      const s = `"${schemaOf(a!)}"`;
      const store = a!.cacheManager.store as PostgresCacheStore;
      await store.set('short', 'x', { ttlMs: 20 });
      await store.set('long', 'y', { ttlMs: 60_000 });
      let done = 0;
      await a!.eventQueue.subscribe('work', {
        process: (m: { fail?: boolean }) => {
          done += 1;
          if (m.fail) throw Object.assign(new Error('no'), { retryable: false });
        },
      });
      for (let i = 0; i < 6; i += 1) await a!.eventQueue.publish('work', { i });
      for (let i = 0; i < 4; i += 1) await a!.eventQueue.publish('work', { fail: true });
      await vi.waitFor(() => expect(done).toBe(10), wait);
      await vi.waitFor(async () => expect(await count(`${s}.completed`)).toBe(6), wait);
      await vi.waitFor(async () => expect(await store.get('short')).toBeUndefined(), wait);
      const sweeper = (a!.eventQueue.adapter as unknown as { connections: { sweepNow(): Promise<boolean> } })
        .connections;
      expect(await sweeper.sweepNow()).toBe(true);
      expect(await count(`${s}.completed`)).toBe(3);
      expect(await count(`${s}.jobs WHERE state = 2`)).toBe(2);
      // The expired row is gone from the table, not only hidden from reads.
      expect(await count(`${s}.cache WHERE key LIKE '%short'`)).toBe(0);
      expect(await count(`${s}.cache WHERE key LIKE '%long'`)).toBe(1);
      expect(await store.get('long')).toBe('y');
    });

    it('serves lock waiters on different nodes in arrival order; tryAcquire cannot overtake them', async () => {
      const [holder, ...waiters] = await startNodes(cluster, 4);
      const held = await holder!.lockManager.acquire('res', 30_000);
      const order: number[] = [];
      const grants: Promise<Lock>[] = [];
      for (const [i, node] of waiters.entries()) {
        grants.push(
          node.lockManager.acquire('res', 30_000).then((lock) => {
            order.push(i);
            return lock;
          }),
        );
        // Arrival order: each waiter is in line before the next one comes.
        await vi.waitFor(async () => expect(await count(`"${schemaOf(node)}".lock_waiters`)).toBe(i + 1), wait);
      }
      await held.release();
      for (const grant of grants) {
        const lock = await within(grant, DEADLINE_MS, 'grant');
        // While later waiters are in line, a newcomer's tryAcquire is refused even between grants.
        expect(await codeOf(holder!.lockManager.tryAcquire('res'))).toBe(ErrorCodes.LOCK_ACQUIRE_FAILED);
        await lock.release();
      }
      expect(order).toEqual([0, 1, 2]);
      expect(await count(`"${schemaOf(holder!)}".lock_waiters`)).toBe(0);
    });
  });
}
