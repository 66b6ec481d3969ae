// Two nodes of one app in one process, on memory adapters sharing one backend: no services needed.
// Run: npx tsx examples/memory.ts
import { createApp, createMemoryAdapters, createMemoryBackend, silentLogger } from 'clusterkit';

const backend = createMemoryBackend();
const nodes = ['node-a', 'node-b'].map((label) => ({
  label,
  app: createApp({ name: 'shop', adapters: createMemoryAdapters({ backend }), logger: silentLogger }),
}));

let left = 4;
const done = new Promise<void>((resolve) => {
  for (const { label, app } of nodes) {
    void app.eventQueue.subscribe('mail:send', {
      process: async (mail: { to: string }) => {
        await new Promise((r) => setTimeout(r, 10)); // a few ms of work
        console.log(`${label} sent mail to ${mail.to}`);
        if (--left === 0) resolve();
      },
    });
  }
});
await Promise.all(nodes.map(({ app }) => app.start()));
const [a, b] = nodes.map((n) => n.app);

await Promise.all(['ann', 'bob', 'cy', 'di'].map((to) => a!.eventQueue.publish('mail:send', { to })));
await done;

// One lock across the nodes: the second runExclusive waits for the first.
await Promise.all(
  nodes.map(({ label, app }) =>
    app.lockManager.runExclusive('report:daily', async (lock) => {
      console.log(`${label} holds report:daily (fencing token ${lock.fencingToken})`);
    }),
  ),
);

// The cache is shared too.
await a!.cache.set('greeting', 'hello', 60_000);
console.log(`node-b reads the cache: ${String(await b!.cache.get('greeting'))}`);

await Promise.all(nodes.map(({ app }) => app.stop()));
console.log('memory example done');
