// A consumer ESM program importing the installed tarball (run by test/package/pack-install.test.ts).
import assert from 'node:assert/strict';
import * as root from 'clusterkit';
import { createApp, createMemoryAdapters, isClusterError } from 'clusterkit';
import { createDashboardHandler, createMetrics } from 'clusterkit/ops';
import { createRedisAdapters } from 'clusterkit/redis';
import { createRabbitMQAdapters } from 'clusterkit/rabbitmq';
import { createPostgresAdapters } from 'clusterkit/postgres';

const prefix = process.env.CK_PREFIX;

// Memory adapters: one message round trip.
{
  const app = createApp({ name: 'consumer-esm', adapters: createMemoryAdapters() });
  let resolve;
  const got = new Promise((r) => (resolve = r));
  await app.eventQueue.subscribe('greet', { process: async (message) => resolve(message) });
  await app.start();
  await app.eventQueue.publish('greet', { hello: 'memory' });
  assert.deepEqual(await got, { hello: 'memory' });
  await app.stop();
}

// Redis adapters: the same round trip through BullMQ on the machine's Redis.
{
  const app = createApp({
    name: 'consumer-esm',
    adapters: createRedisAdapters({ url: process.env.REDIS_URL, prefix }),
  });
  let resolve;
  const got = new Promise((r) => (resolve = r));
  await app.eventQueue.subscribe('greet', { process: async (message) => resolve(message) });
  await app.start();
  await app.eventQueue.publish('greet', { hello: 'redis' });
  assert.deepEqual(await got, { hello: 'redis' });
  await app.stop();
}

// The other factories load and validate (bad input is a ClusterError before any connection).
assert.equal(typeof createRabbitMQAdapters({ url: process.env.AMQP_URL, prefix }).eventQueue, 'object');
try {
  createPostgresAdapters({ connectionString: 42 });
  assert.fail('createPostgresAdapters accepted a number');
} catch (error) {
  assert.ok(isClusterError(error), String(error));
}
// The dashboard and metrics live in clusterkit/ops, not in the root entry.
assert.equal(typeof createDashboardHandler, 'function');
assert.equal(typeof createMetrics, 'function');
assert.equal('createDashboardHandler' in root, false);
console.log('esm ok');
