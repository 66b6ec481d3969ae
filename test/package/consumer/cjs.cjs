// A consumer CommonJS program requiring the installed tarball (run by test/package/pack-install.test.ts).
const assert = require('node:assert/strict');
const { createApp, createMemoryAdapters, ClusterError } = require('clusterkit');
const { createRedisAdapters } = require('clusterkit/redis');
const { createRabbitMQAdapters } = require('clusterkit/rabbitmq');

async function main() {
  const prefix = process.env.CK_PREFIX;
  // RabbitMQ pub/sub: node b hears node a's broadcast.
  const apps = ['a', 'b'].map(() =>
    createApp({
      name: 'consumer-cjs',
      adapters: {
        ...createMemoryAdapters(),
        pubSub: createRabbitMQAdapters({ url: process.env.AMQP_URL, prefix }).pubSub,
      },
    }),
  );
  let resolve;
  const heard = new Promise((r) => (resolve = r));
  await apps[1].pubSubManager.subscribe('news', (message) => resolve(message));
  await Promise.all(apps.map((app) => app.start()));
  await apps[0].pubSubManager.publish('news', { hello: 'rabbitmq' });
  assert.deepEqual(await heard, { hello: 'rabbitmq' });
  await Promise.all(apps.map((app) => app.stop()));

  assert.equal(typeof createRedisAdapters, 'function');
  assert.throws(
    () => createApp({ name: '' }),
    (error) => error instanceof ClusterError,
  );
  console.log('cjs ok');
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
