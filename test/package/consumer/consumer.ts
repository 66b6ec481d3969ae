// A strict TypeScript consumer, typechecked by test/package/pack-install.test.ts against the
// installed tarball under moduleResolution node10, node16 and bundler.
import {
  ClusterError,
  createApp,
  createMemoryAdapters,
  currentTenant,
  isClusterError,
  Plugin,
  runWithTenant,
  type App,
  type TenantContext,
} from 'clusterkit';
import { createRedisAdapters, type RedisAdaptersOptions } from 'clusterkit/redis';
import { createRabbitMQAdapters } from 'clusterkit/rabbitmq';
import { createPostgresAdapters } from 'clusterkit/postgres';
import type * as nocobase from 'clusterkit/nocobase';
import { createMetrics, type DashboardServer } from 'clusterkit/ops';
import {
  assertName,
  SharedConnectionAdapter,
  type PubSubAdapter,
  type SharedConnections,
} from 'clusterkit/adapter-kit';

// A third-party pub/sub adapter written against clusterkit/adapter-kit.
class LoopbackConnections implements SharedConnections {
  readonly handlers = new Map<string, (payload: string) => void>();
  async open(): Promise<void> {}
  async release(): Promise<void> {}
}
class LoopbackPubSubAdapter extends SharedConnectionAdapter<LoopbackConnections> implements PubSubAdapter {
  constructor() {
    super(new LoopbackConnections(), 'Loopback pub/sub adapter');
  }
  protected async dropResources(): Promise<void> {
    this.connections.handlers.clear();
  }
  async subscribe(channel: string, onMessage: (payload: string) => void): Promise<void> {
    this.assertConnected();
    this.connections.handlers.set(assertName('channel', channel), onMessage);
  }
  async unsubscribe(channel: string): Promise<void> {
    this.connections.handlers.delete(channel);
  }
  async publish(channel: string, payload: string): Promise<void> {
    this.assertConnected();
    this.connections.handlers.get(channel)?.(payload);
  }
}

class OrdersPlugin extends Plugin {
  override async load(): Promise<void> {
    await this.app.eventQueue.subscribe('orders:confirm', {
      concurrency: 2,
      process: async (order: { id: number }) => {
        const tenant: TenantContext | undefined = currentTenant();
        void tenant;
        void order.id;
      },
    });
  }
}

const redisOptions: RedisAdaptersOptions = { url: 'redis://127.0.0.1:6379', prefix: 'consumer' };
const app: App = createApp({ name: 'shop', adapters: createRedisAdapters(redisOptions) });
const other: App = createApp({
  name: 'shop',
  adapters: { ...createMemoryAdapters(), ...createRabbitMQAdapters({ url: 'amqp://127.0.0.1' }) },
});
const pg = createPostgresAdapters;
const loopback: App = createApp({ name: 'shop', adapters: { pubSub: new LoopbackPubSubAdapter() } });
type NocobaseExports = keyof typeof nocobase;

export async function main(): Promise<void> {
  await app.pm.add(OrdersPlugin);
  await app.start();
  await runWithTenant({ tenantId: 'acme' }, () => app.eventQueue.publish('orders:confirm', { id: 1 }));
  try {
    await other.start();
  } catch (error) {
    if (isClusterError(error)) console.log(error.code satisfies string);
    if (error instanceof ClusterError) console.log(error.retryable satisfies boolean);
  }
  void pg;
  void loopback;
  const metrics = createMetrics(app);
  const server: DashboardServer | undefined = undefined;
  void metrics;
  void server;
  const names: NocobaseExports[] = [];
  void names;
}
