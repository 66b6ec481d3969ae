/**
 * A node that dies mid-transaction, for the transactional-publish crash case: it opens a
 * transaction on its own connection, writes a business row, publishes a message in that
 * transaction, reports `written`, and then hangs (never committing) until the parent SIGKILLs it.
 *
 * Environment: DATABASE_URL, CK_PREFIX (the adapters' schema), CK_APP, CK_CHANNEL, CK_TABLE
 * (qualified business table), CK_ORDER (the row id), CK_APP_NAME (the connection's application_name);
 * CK_MODE=enqueue enqueues a managed job (plugin `shop`, queue `orders`, job `ship`, jobId CK_ORDER)
 * in the transaction instead of publishing.
 */
import pg from 'pg';
import { createApp, silentLogger } from 'clusterkit';
import { createPostgresAdapters } from 'clusterkit/postgres';

const env = (name: string): string => {
  const value = process.env[name];
  if (!value) throw new Error(`tx-publisher: ${name} is not set`);
  return value;
};

const app = createApp({
  name: env('CK_APP'),
  logger: silentLogger,
  adapters: createPostgresAdapters({
    connectionString: env('DATABASE_URL'),
    schema: env('CK_PREFIX'),
    onError: () => {},
  }),
});
await app.start();
const client = new pg.Client({ connectionString: env('DATABASE_URL'), application_name: env('CK_APP_NAME') });
await client.connect();
await client.query('BEGIN');
await client.query(`INSERT INTO ${env('CK_TABLE')} (id) VALUES ($1)`, [env('CK_ORDER')]);
if (process.env.CK_MODE === 'enqueue') {
  await app.managedQueue.enqueue(
    { pluginName: 'shop', queueName: 'orders', jobName: 'ship', payload: env('CK_ORDER'), jobId: env('CK_ORDER') },
    { transaction: client },
  );
} else {
  await app.eventQueue.publish(env('CK_CHANNEL'), { order: env('CK_ORDER') }, { transaction: client });
}
process.send?.({ type: 'written' });
await new Promise<never>(() => {}); // never commits: the parent kills this process here
