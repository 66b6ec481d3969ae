// One node of a "shop" app on Redis. Start it on as many machines (or terminals) as you like: they
// form one cluster and share the work. `--publish 6` also publishes six orders from this node.
// Stop a node with Ctrl-C or SIGTERM: it finishes the orders in hand, then exits.
import { createApp, Plugin } from 'clusterkit';
import { createRedisAdapters } from 'clusterkit/redis';

class OrdersPlugin extends Plugin {
  static override pluginName = 'orders';

  override async load() {
    await this.app.eventQueue.subscribe('orders:confirm', {
      concurrency: 5,
      process: async (order: { id: number }) => {
        console.log(`node ${this.app.nodeId} confirmed order #${order.id}`);
      },
    });
  }
}

const app = createApp({
  name: 'shop',
  adapters: createRedisAdapters({
    url: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    prefix: process.env.CLUSTERKIT_REDIS_PREFIX, // nodes of one cluster share it (default 'ck')
  }),
});
await app.pm.add(OrdersPlugin);
await app.start();
console.log(`node ${app.nodeId} started`);

const publish = process.argv.indexOf('--publish');
if (publish !== -1) {
  const count = Number(process.argv[publish + 1] ?? 6);
  for (let id = 1; id <= count; id++) await app.eventQueue.publish('orders:confirm', { id });
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void app.stop().then(() => process.exit(0));
  });
}
