/**
 * This library's side of each comparison: an app on memory, Redis or RabbitMQ adapters, created the
 * way DESIGN.md §1 shows. clusterkit is imported lazily so the raw baselines still run (and the side
 * is reported as unavailable) while a module of the library is missing.
 */
import type { App, ClusterAdapters } from 'clusterkit';
import { AMQP_URL, deleteRedisPrefix, randomName, REDIS_URL } from './services.js';

/** The backend an app's adapters use. */
export type Backend = 'memory' | 'redis' | 'rabbitmq';

/** One node and how to dispose of it. */
export interface BenchApp {
  readonly app: App;
  readonly adapters: ClusterAdapters;
  /**
   * Stops consumers of `channels`, removes their queues (adapter `obliterate`), stops the app and
   * deletes the Redis keys under the cluster's prefix.
   */
  dispose(channels?: readonly string[]): Promise<void>;
}

/** Names shared by the nodes of one benchmark cluster. */
export interface BenchCluster {
  readonly name: string;
  /** Redis key prefix (unused on memory). */
  readonly prefix: string;
  readonly backend: Backend;
}

/** A fresh cluster identity: random app name and key prefix, both under the bench name root. */
export function benchCluster(backend: Backend): BenchCluster {
  const name = randomName(`ck-${backend}`);
  return { name, prefix: name, backend };
}

async function adaptersFor(cluster: BenchCluster): Promise<ClusterAdapters> {
  if (cluster.backend === 'memory') return {};
  if (cluster.backend === 'redis') {
    const { createRedisAdapters } = await import('clusterkit/redis');
    return createRedisAdapters({ url: REDIS_URL, prefix: cluster.prefix });
  }
  const { createRabbitMQAdapters } = await import('clusterkit/rabbitmq');
  return createRabbitMQAdapters({ url: AMQP_URL, prefix: cluster.prefix });
}

/**
 * Creates one node of `cluster` (several calls with one cluster give several nodes, each with its own
 * connections), registers subscriptions through `beforeStart`, and starts it.
 */
export async function startNode(
  cluster: BenchCluster,
  beforeStart?: (app: App) => Promise<void> | void,
): Promise<BenchApp> {
  const { createApp, silentLogger } = await import('clusterkit');
  const adapters = await adaptersFor(cluster);
  const app = createApp({ name: cluster.name, logger: silentLogger, adapters, stopGracePeriodMs: 2_000 });
  await beforeStart?.(app);
  await app.start();
  return {
    app,
    adapters,
    async dispose(channels = []) {
      for (const channel of channels) {
        await app.eventQueue.unsubscribe(channel).catch(() => undefined);
        // The manager names a channel's queue `<app>:<channel>` (event-queue/types.ts).
        await adapters.eventQueue?.obliterate(`${cluster.name}:${channel}`).catch(() => undefined);
      }
      await app.stop().catch(() => undefined);
      if (cluster.backend === 'redis') await deleteRedisPrefix(cluster.prefix).catch(() => undefined);
    },
  };
}
