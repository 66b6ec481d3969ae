/**
 * Three OS processes (each one clusterkit node on PostgreSQL with its own pool and LISTEN
 * connection) share one database: 1,000 queue messages are each handled exactly once, the lock
 * keeps them mutually exclusive, and pub/sub reaches every one of them.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createApp, silentLogger, type App } from 'clusterkit';
import { createPostgresAdapters } from 'clusterkit/postgres';
import { dropSchema, resolvePostgresUrl } from '../conformance/postgres-factory.js';
import { deferred, randomName, within } from '../helpers.js';

const CHILD = fileURLToPath(new URL('./child-node.ts', import.meta.url));
const MESSAGES = 1_000;
const LOCK_ROUNDS = 30;
const target = await resolvePostgresUrl();

interface Child {
  proc: ChildProcess;
  handled: number[];
  news: unknown[];
  lockDone: Promise<number>;
  ready: Promise<void>;
}

function startChild(env: Record<string, string>): Child {
  const ready = deferred();
  const lockDone = deferred<number>();
  const proc = fork(CHILD, [], {
    execArgv: ['--import', 'tsx'],
    env: { ...process.env, ...env },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const child: Child = { proc, handled: [], news: [], lockDone: lockDone.promise, ready: ready.promise };
  proc.on('message', (m: { type: string; id?: number; message?: unknown; overlaps?: number }) => {
    if (m.type === 'ready') ready.resolve();
    else if (m.type === 'handled') child.handled.push(m.id!);
    else if (m.type === 'news') child.news.push(m.message);
    else if (m.type === 'lock-done') lockDone.resolve(m.overlaps!);
    else if (m.type === 'error') lockDone.reject(new Error(String(m.message)));
  });
  proc.on('exit', (code) => ready.reject(new Error(`child exited early with ${code}`)));
  return child;
}

async function stopChild(child: Child): Promise<void> {
  if (child.proc.exitCode !== null) return;
  const exited = new Promise((resolve) => child.proc.once('exit', resolve));
  child.proc.send({ type: 'stop' });
  await within(exited, 15_000, 'child exit').catch(() => child.proc.kill('SIGKILL'));
}

describe.skipIf('skip' in target)(
  `postgres: three processes sharing one database${'skip' in target ? ` (skipped: ${target.skip})` : ''}`,
  () => {
    const url = 'url' in target ? target.url : '';
    const schema = randomName('ckt');
    const testSchema = randomName('ckmp');
    const table = `"${testSchema}".counters`;
    const appName = randomName('mp');
    const db = new pg.Pool({ connectionString: url, max: 2 });
    let children: Child[] = [];
    let producer: App;

    beforeAll(async () => {
      await db.query(`CREATE SCHEMA "${testSchema}"`);
      await db.query(`CREATE TABLE ${table} (name text PRIMARY KEY, value int NOT NULL)`);
      await db.query(`INSERT INTO ${table} VALUES ('inside', 0), ('total', 0)`);
      const env = { DATABASE_URL: url, CK_SCHEMA: schema, CK_TABLE: table, CK_APP: appName };
      children = [0, 1, 2].map(() => startChild(env));
      producer = createApp({
        name: appName,
        logger: silentLogger,
        adapters: createPostgresAdapters({ connectionString: url, schema, onError: () => {} }),
      });
      await producer.start();
      await within(Promise.all(children.map((c) => c.ready)), 60_000, 'children ready');
    }, 90_000);

    afterAll(async () => {
      await Promise.allSettled(children.map((c) => stopChild(c)));
      await producer?.stop();
      await db.query(`DROP SCHEMA IF EXISTS "${testSchema}" CASCADE`);
      await db.end();
      await dropSchema(url, schema);
      await ('stop' in target ? target.stop?.() : undefined);
    });

    it('handles each of 1,000 messages exactly once across the processes', async () => {
      for (let id = 0; id < MESSAGES; id += 1) await producer.eventQueue.publish('jobs', { id });
      const total = () => children.reduce((n, c) => n + c.handled.length, 0);
      await vi.waitFor(() => expect(total()).toBeGreaterThanOrEqual(MESSAGES), { timeout: 60_000, interval: 20 });
      const all = children.flatMap((c) => c.handled).sort((a, b) => a - b);
      expect(all).toEqual(Array.from({ length: MESSAGES }, (_, i) => i));
      expect(children.filter((c) => c.handled.length > 0).length).toBeGreaterThan(1);
    }, 90_000);

    it('keeps lock holders in different processes mutually exclusive', async () => {
      for (const child of children) child.proc.send({ type: 'lock', rounds: LOCK_ROUNDS });
      const overlaps = await within(Promise.all(children.map((c) => c.lockDone)), 60_000, 'lock rounds');
      expect(overlaps).toEqual([0, 0, 0]);
      const { rows } = await db.query<{ value: number }>(`SELECT value FROM ${table} WHERE name = 'total'`);
      expect(rows[0]!.value).toBe(3 * LOCK_ROUNDS);
    }, 90_000);

    it('fans a pub/sub message out to every process', async () => {
      await producer.pubSubManager.publish('news', { headline: 'hello' });
      await vi.waitFor(() => expect(children.every((c) => c.news.length > 0)).toBe(true), {
        timeout: 10_000,
        interval: 20,
      });
      for (const child of children) expect(child.news).toEqual([{ headline: 'hello' }]);
    });
  },
);
