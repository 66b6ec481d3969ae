/**
 * This library's side of each comparison: an app on memory, Redis or RabbitMQ adapters, created the
 * way DESIGN.md §1 shows. clusterkit is loaded lazily (see `clusterkit-loader.ts`) so the raw baselines
 * still run (and the side is reported as unavailable) while a module of the library is missing.
 */
import type { App, ClusterAdapters } from 'clusterkit';
import { loadClusterkit } from './clusterkit-loader.js';
import {
  AMQP_URL,
  DATABASE_URL,
  deleteRabbitObjects,
  deleteRedisPrefix,
  dropPgSchema,
  randomName,
  REDIS_URL,
} from './services.js';

/** The backend an app's adapters use. */
export type Backend = 'memory' | 'redis' | 'rabbitmq' | 'postgres';

/** One node and how to dispose of it. */
export interface BenchApp {
  readonly app: App;
  readonly adapters: ClusterAdapters;
  /**
   * Stops the app, then removes what it left on the services: Redis keys under the cluster's prefix;
   * on RabbitMQ the queues of `channels` and of the managed queue, and the pub/sub exchange.
   */
  dispose(channels?: readonly string[]): Promise<void>;
}

/** Names shared by the nodes of one benchmark cluster. */
export interface BenchCluster {
  readonly name: string;
  /** Redis key prefix; the schema on PostgreSQL (unused on memory). */
  readonly prefix: string;
  readonly backend: Backend;
  /** PostgreSQL only: `eventQueue.durablePublish` (default the adapter's, `true`). */
  readonly durablePublish?: boolean;
  /** Redis only: the managed-job engine (`managedJobs.engine`; default the adapters', `'native'`). */
  readonly jobEngine?: 'native' | 'records';
}

/**
 * A fresh cluster identity: a random key prefix under the bench name root (it isolates the run on
 * the service, as the raw side's random prefix does) and the app name `bench` — as short as a real
 * app's name. The app name is part of every queue, lock and channel name inside the prefix, so a
 * long random one there would make every key longer than any deployment's. Memory nodes keep a
 * random app name: in one process it is what keeps two clusters apart.
 */
export function benchCluster(
  backend: Backend,
  options: { durablePublish?: boolean; jobEngine?: 'native' | 'records' } = {},
): BenchCluster {
  const prefix = randomName(`ck-${backend}`);
  return { name: backend === 'memory' ? prefix : 'bench', prefix, backend, ...options };
}

async function adaptersFor(cluster: BenchCluster): Promise<ClusterAdapters> {
  if (cluster.backend === 'memory') return {};
  if (cluster.backend === 'redis') {
    const { createRedisAdapters } = (await loadClusterkit()).redis;
    return createRedisAdapters({
      url: REDIS_URL,
      prefix: cluster.prefix,
      ...(cluster.jobEngine ? { managedJobs: { engine: cluster.jobEngine } } : {}),
    });
  }
  if (cluster.backend === 'postgres') {
    const { createPostgresAdapters } = (await loadClusterkit()).postgres;
    return createPostgresAdapters({
      connectionString: DATABASE_URL,
      schema: cluster.prefix,
      ...(cluster.durablePublish === undefined ? {} : { eventQueue: { durablePublish: cluster.durablePublish } }),
    });
  }
  const { createRabbitMQAdapters } = (await loadClusterkit()).rabbitmq;
  return createRabbitMQAdapters({ url: AMQP_URL, prefix: cluster.prefix });
}

/** Deletes the RabbitMQ adapter's queues (work, dead, delay levels) of `logicalQueues` and its pub/sub exchange. */
async function deleteRabbitTopology(prefix: string, logicalQueues: readonly string[]): Promise<void> {
  const { queueNames, pubSubExchange, MAX_DELAY_LEVEL } = (await loadClusterkit()).rabbitmq;
  const queues: string[] = [];
  for (const logical of logicalQueues) {
    const names = queueNames(prefix, logical);
    queues.push(names.main, names.dead);
    for (let level = 0; level <= MAX_DELAY_LEVEL; level += 1) queues.push(names.delay(level));
  }
  await deleteRabbitObjects({ queues, exchanges: [pubSubExchange(prefix)] });
}

/**
 * Creates one node of `cluster` (several calls with one cluster give several nodes, each with its own
 * connections), registers subscriptions through `beforeStart`, and starts it.
 */
export async function startNode(
  cluster: BenchCluster,
  beforeStart?: (app: App) => Promise<void> | void,
): Promise<BenchApp> {
  const { createApp, silentLogger } = (await loadClusterkit()).core;
  const adapters = await adaptersFor(cluster);
  const app = createApp({ name: cluster.name, logger: silentLogger, adapters, stopGracePeriodMs: 2_000 });
  try {
    await beforeStart?.(app);
    await app.start();
  } catch (error) {
    await app.stop().catch(() => undefined);
    if (cluster.backend === 'redis') await deleteRedisPrefix(cluster.prefix).catch(() => undefined);
    throw error;
  }
  return {
    app,
    adapters,
    async dispose(channels = []) {
      await app.stop().catch(() => undefined);
      if (cluster.backend === 'redis') await deleteRedisPrefix(cluster.prefix).catch(() => undefined);
      if (cluster.backend === 'postgres') await dropPgSchema(cluster.prefix).catch(() => undefined);
      if (cluster.backend === 'rabbitmq') {
        // The manager names a channel's queue `<app>:<channel>` (event-queue/types.ts).
        const logical = [...channels.map((c) => `${cluster.name}:${c}`), app.managedQueue.physicalQueueName];
        await deleteRabbitTopology(cluster.prefix, logical).catch(() => undefined);
      }
    },
  };
}
