/**
 * One clusterkit node on PostgreSQL in its own OS process, driven over IPC by the multi-process
 * test (run with `node --import tsx`). Environment: DATABASE_URL, CK_SCHEMA (the adapters' schema),
 * CK_TABLE (a qualified table `(name text primary key, value int)` for the lock checks), CK_APP.
 */
import pg from 'pg';
import { createApp, silentLogger } from 'clusterkit';
import { createPostgresAdapters } from 'clusterkit/postgres';

type Command = { type: 'lock'; rounds: number } | { type: 'stop' };

const env = (name: string): string => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
};
const send = (message: Record<string, unknown>) => process.send?.(message);

const url = env('DATABASE_URL');
const table = env('CK_TABLE');
const app = createApp({
  name: env('CK_APP'),
  logger: silentLogger,
  adapters: createPostgresAdapters({ connectionString: url, schema: env('CK_SCHEMA'), onError: () => {} }),
});
await app.eventQueue.subscribe('jobs', {
  concurrency: 8,
  process: (message) => {
    send({ type: 'handled', id: (message as { id: number }).id });
  },
});
await app.pubSubManager.subscribe('news', (message) => {
  send({ type: 'news', message });
});

// Plain SQL for the lock checks: an occupancy counter and a read-modify-write total, in separate
// statements, so only mutual exclusion keeps them right.
const raw = new pg.Pool({ connectionString: url, max: 2 });
const add = (name: string, by: number) =>
  raw.query<{ value: number }>(`UPDATE ${table} SET value = value + $2 WHERE name = $1 RETURNING value`, [name, by]);

async function lockRounds(rounds: number): Promise<void> {
  let overlaps = 0;
  for (let i = 0; i < rounds; i += 1) {
    await app.lockManager.runExclusive('shared-counter', async () => {
      if ((await add('inside', 1)).rows[0]!.value !== 1) overlaps += 1;
      const { rows } = await raw.query<{ value: number }>(`SELECT value FROM ${table} WHERE name = 'total'`);
      await new Promise((r) => setImmediate(r)); // let the others run while "holding" the value
      await raw.query(`UPDATE ${table} SET value = $1 WHERE name = 'total'`, [rows[0]!.value + 1]);
      await add('inside', -1);
    });
  }
  send({ type: 'lock-done', overlaps });
}

process.on('message', (command: Command) => {
  if (command.type === 'lock') {
    lockRounds(command.rounds).catch((error: unknown) => send({ type: 'error', message: String(error) }));
  } else if (command.type === 'stop') {
    app
      .stop()
      .then(() => raw.end())
      .then(() => process.exit(0))
      .catch(() => process.exit(1));
  }
});

await app.start();
send({ type: 'ready' });
