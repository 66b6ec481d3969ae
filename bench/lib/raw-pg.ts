/**
 * The raw PostgreSQL job queues the PostgreSQL event queue is compared with, each on its own random
 * schema (dropped on close): pg-boss (polling, `SKIP LOCKED`; concurrency N = N workers of batch 1,
 * as its docs say to scale, at its fastest poll of 0.5 s) and graphile-worker (`SKIP LOCKED` + LISTEN/
 * NOTIFY; its own `concurrency`).
 */
import { DATABASE_URL, dropPgSchema, randomName } from './services.js';

/** A running raw queue: publish one job, stop everything and drop the schema. */
export interface RawPgQueue {
  add(data: object): Promise<unknown>;
  close(): Promise<void>;
}

/** pg-boss on a fresh schema, `concurrency` workers of batch size 1 on one queue. */
export async function startRawPgBoss(options: {
  concurrency: number;
  process: () => Promise<void>;
}): Promise<RawPgQueue> {
  const { default: PgBoss } = await import('pg-boss');
  const schema = randomName('pgboss').replace(/-/g, '_');
  const boss = new PgBoss({ connectionString: DATABASE_URL, schema, max: 10, supervise: false, schedule: false });
  boss.on('error', () => {});
  await boss.start();
  await boss.createQueue('bench');
  for (let i = 0; i < options.concurrency; i += 1) {
    // pg-boss waits a full polling interval after every fetch unless the worker is notified; a
    // worker that just finished a job notifies itself (`notifyWorker`, pg-boss's documented way to
    // bypass the interval), so a busy queue is drained back to back, as fast as pg-boss can.
    let id = '';
    id = await boss.work('bench', { batchSize: 1, pollingIntervalSeconds: 0.5 }, async () => {
      await options.process();
      boss.notifyWorker(id);
    });
  }
  return {
    add: (data) => boss.send('bench', data),
    async close() {
      await boss.stop({ graceful: false, wait: true, timeout: 5_000 }).catch(() => undefined);
      await dropPgSchema(schema);
    },
  };
}

/** graphile-worker on a fresh schema with its own `concurrency`. */
export async function startRawGraphile(options: {
  concurrency: number;
  process: () => Promise<void>;
}): Promise<RawPgQueue> {
  const { run, makeWorkerUtils } = await import('graphile-worker');
  const schema = randomName('graphile').replace(/-/g, '_');
  const utils = await makeWorkerUtils({ connectionString: DATABASE_URL, schema });
  await utils.migrate();
  const runner = await run({
    connectionString: DATABASE_URL,
    schema,
    concurrency: options.concurrency,
    maxPoolSize: Math.max(10, options.concurrency + 2),
    noHandleSignals: true,
    pollInterval: 2_000,
    logger: new (await import('graphile-worker')).Logger(() => () => {}),
    taskList: { bench: async () => options.process() },
  });
  return {
    add: (data) => utils.addJob('bench', data),
    async close() {
      await runner.stop().catch(() => undefined);
      await utils.release();
      await dropPgSchema(schema);
    },
  };
}
