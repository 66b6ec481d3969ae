/**
 * `npm run demo` — a small plugin app running as three nodes of one cluster, on memory adapters
 * sharing one in-process backend (no Redis, no RabbitMQ). It prints, in plain words, what each
 * primitive did. Swap `createMemoryAdapters({ backend })` for `createRedisAdapters({ url })` and the
 * same code runs across machines.
 */
import {
  createApp,
  createMemoryAdapters,
  createMemoryBackend,
  currentTenant,
  Plugin,
  PluginJobProcessor,
  runWithTenant,
  silentLogger,
  type App,
  type ManagedQueueJob,
} from 'clusterkit';

const say = (line: string) => console.log(line);
const backend = createMemoryBackend();
const label = new Map<string, string>();

/** The plugin every node loads: it reacts to orders, broadcasts and sync messages. */
class OrdersPlugin extends Plugin {
  static override pluginName = 'orders';
  readonly handled: number[] = [];
  onHandled: () => void = () => {};

  override async load() {
    const me = label.get(this.app.nodeId)!;
    await this.app.eventQueue.subscribe('orders:confirm', {
      concurrency: 2,
      process: async (order: { id: number }) => {
        this.handled.push(order.id);
        say(`  ${me} took order #${order.id} from the shared queue`);
        // A few ms of "work" (a database write, a call to a payment service): while this node is
        // busy, the other nodes take the next orders.
        await new Promise((r) => setTimeout(r, 25));
        this.onHandled();
      },
    });
    await this.app.pubSubManager.subscribe('catalog:changed', (message: { sku: string }) => {
      say(`  ${me} heard the broadcast: catalog changed (${message.sku})`);
    });
  }

  override async handleSyncMessage(message: { setting: string; value: unknown }) {
    say(`  ${label.get(this.app.nodeId)} applied the sync message: ${message.setting} = ${String(message.value)}`);
  }
}

/** A managed-job processor: the platform owns the queue; the plugin only handles its jobs. */
@PluginJobProcessor({ pluginName: 'reports', queueName: 'exports', jobName: 'monthly', concurrency: 1 })
class MonthlyReportProcessor {
  constructor(private readonly node: string) {}

  async handle(job: ManagedQueueJob<{ month: string }>) {
    // The tenant that enqueued the job is the current tenant here, restored by the platform.
    say(`  ${this.node} built the ${job.data.month} report for tenant ${currentTenant()?.tenantId}`);
    return { rows: 42 };
  }
}

async function main() {
  say('clusterkit demo: one plugin app running as three nodes on a shared in-memory backend.\n');
  const nodes: App[] = [];
  for (const name of ['node-1', 'node-2', 'node-3']) {
    const app = createApp({ name: 'shop', adapters: createMemoryAdapters({ backend }), logger: silentLogger });
    label.set(app.nodeId, name);
    await app.pm.add(OrdersPlugin);
    nodes.push(app);
  }
  await Promise.all(nodes.map((n) => n.start()));
  const [n1, n2, n3] = nodes as [App, App, App];
  const plugins = nodes.map((n) => n.pm.get<OrdersPlugin>('orders')!);

  say('1. Event queue — node-1 publishes 12 orders at once; the nodes share the work, and every order');
  say('   is taken by exactly one node:');
  const ORDERS = 12;
  const all = new Promise<void>((resolve) => {
    let count = 0;
    for (const p of plugins) p.onHandled = () => (++count === ORDERS ? resolve() : undefined);
  });
  await Promise.all(Array.from({ length: ORDERS }, (_, i) => n1.eventQueue.publish('orders:confirm', { id: i + 1 })));
  await all;
  const counts = plugins.map((p) => p.handled.length);
  const ids = plugins.flatMap((p) => p.handled);
  const busy = counts.filter((c) => c > 0).length;
  say(`  → ${counts.map((c, i) => `node-${i + 1} handled ${c}`).join(', ')}.`);
  say(`  → the work was spread over ${busy} of the 3 nodes (each order takes a few ms, so a busy node leaves`);
  say(
    `    the next order to an idle one); ${new Set(ids).size} distinct orders, ${ids.length} handled — none twice.\n`,
  );

  say('2. Lock — all three nodes want to update stock of sku-42 at once; one at a time gets it:');
  await Promise.all(
    nodes.map((node) =>
      node.lockManager.runExclusive(
        'inventory:sku-42',
        async (lock) => {
          say(`  ${label.get(node.nodeId)} holds the lock (fencing token ${lock.fencingToken}) and updates stock`);
          await new Promise((r) => setTimeout(r, 20));
        },
        5_000,
      ),
    ),
  );
  say('  → the holders never overlapped, and each later holder got a larger fencing token.\n');

  say('3. Pub/sub — node-1 broadcasts "catalog changed"; the other nodes hear it (not node-1 itself):');
  const heard = new Promise<void>((resolve) => {
    let count = 0;
    const onHeard = () => (++count === 2 ? resolve() : undefined);
    void n2.pubSubManager.subscribe('catalog:changed', onHeard);
    void n3.pubSubManager.subscribe('catalog:changed', onHeard);
  });
  await n1.pubSubManager.publish('catalog:changed', { sku: 'sku-42' });
  await heard;
  say('');

  say('4. Sync message — node-2 changes a plugin setting; the orders plugin on the other nodes applies it:');
  const applied = new Promise<void>((resolve) => {
    let count = 0;
    for (const n of [n1, n3]) {
      void n.syncMessageManager.subscribe('orders', () => (++count === 2 ? resolve() : undefined));
    }
  });
  await plugins[1]!.sendSyncMessage({ setting: 'maxItemsPerOrder', value: 20 });
  await applied;
  say('');

  say('5. Cache — two requests on node-1 ask for the same price list at the same moment:');
  let loads = 0;
  const loader = async () => {
    loads++;
    say(`  the loader ran (a slow database query) — ${loads} time(s) so far`);
    await new Promise((r) => setTimeout(r, 30));
    return { 'sku-42': 9.99 };
  };
  await Promise.all([n1.cache.wrap('price-list', loader, 60_000), n1.cache.wrap('price-list', loader, 60_000)]);
  const fromNode3 = await n3.cache.get('price-list');
  say(`  node-3 then read it from the shared cache without loading: ${JSON.stringify(fromNode3)}`);
  say(`  → the loader ran ${loads} time; concurrent callers shared its result.\n`);

  say('6. Managed plugin jobs — two tenants enqueue a report job from node-1; the platform runs each');
  say('   on some node, inside the tenant that asked for it:');
  await Promise.all(
    nodes.map((n) => n.managedQueue.registerProcessor(new MonthlyReportProcessor(label.get(n.nodeId)!))),
  );
  const jobs = await Promise.all(
    ['acme', 'globex'].map((tenantId) =>
      runWithTenant({ tenantId }, () =>
        n1.managedQueue.enqueue({
          pluginName: 'reports',
          queueName: 'exports',
          jobName: 'monthly',
          payload: { month: '2026-10' },
        }),
      ),
    ),
  );
  for (const { jobId } of jobs) await n1.managedQueue.waitForJob(jobId, { timeoutMs: 10_000 });
  const other = await runWithTenant({ tenantId: 'acme' }, () => n1.managedQueue.getJob(jobs[1]!.jobId));
  say(
    `  → both finished; tenant acme asking for globex's job gets: ${other === null ? 'nothing (not found)' : 'a job?!'}\n`,
  );

  await Promise.all(nodes.map((n) => n.stop()));
  say('All three nodes stopped gracefully: in-flight work finished before their connections closed.');
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
