// Two nodes on RabbitMQ (event queue and pub/sub; locks and cache stay in memory here — use Redis
// for those across machines). Run: AMQP_URL=amqp://guest:guest@127.0.0.1:5672 npx tsx examples/rabbitmq.ts
import { randomUUID } from 'node:crypto';
import { createApp, createMemoryAdapters, silentLogger } from 'clusterkit';
import { createRabbitMQAdapters } from 'clusterkit/rabbitmq';

// A fresh prefix per run keeps this example's queues apart from anything else on the broker.
const prefix = process.env.EXAMPLE_PREFIX ?? `example-${randomUUID().slice(0, 8)}`;
const nodes = ['node-a', 'node-b'].map((label) => ({
  label,
  app: createApp({
    name: 'shop',
    logger: silentLogger,
    adapters: { ...createMemoryAdapters(), ...createRabbitMQAdapters({ url: process.env.AMQP_URL, prefix }) },
  }),
}));

let left = 4;
const done = new Promise<void>((resolve) => {
  for (const { label, app } of nodes) {
    void app.eventQueue.subscribe('invoices:render', {
      process: async (invoice: { id: number }) => {
        await new Promise((r) => setTimeout(r, 10));
        console.log(`${label} rendered invoice #${invoice.id}`);
        if (--left === 0) resolve();
      },
    });
  }
});
const heard = new Promise<void>((resolve) => {
  void nodes[1]!.app.pubSubManager.subscribe('prices:changed', (message: { sku: string }) => {
    console.log(`node-b heard: prices changed for ${message.sku}`);
    resolve();
  });
});
await Promise.all(nodes.map(({ app }) => app.start()));
const a = nodes[0]!.app;

await Promise.all([1, 2, 3, 4].map((id) => a.eventQueue.publish('invoices:render', { id })));
await a.pubSubManager.publish('prices:changed', { sku: 'sku-42' });
await Promise.all([done, heard]);

await Promise.all(nodes.map(({ app }) => app.stop()));
console.log('rabbitmq example done');
