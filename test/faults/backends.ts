/**
 * The brokers the fault cases run on, with random names per run and full cleanup: Redis (BullMQ;
 * keys under a random prefix) and RabbitMQ (queues and exchange under a random prefix, connections
 * named after it so a case can close only its own). Nothing here ever stops the shared brokers.
 */
import amqp from 'amqplib';
import {
  createApp,
  createMemoryAdapters,
  createMemoryBackend,
  silentLogger,
  type App,
  type AppOptions,
  type ClusterAdapters,
  type Logger,
} from 'clusterkit';
import { allQueueNames, createRabbitMQAdapters, pubSubExchange, queueNames } from 'clusterkit/rabbitmq';
import { createPostgresAdapters } from 'clusterkit/postgres';
import { createRedisAdapters, type RedisAdaptersOptions, type RedisEventQueueOptions } from 'clusterkit/redis';
import { dropSchema } from '../conformance/postgres-factory.js';
import { randomName } from '../helpers.js';
import { AMQP_URL, bookkeepingClient, DATABASE_URL, deleteUnder, REDIS_URL } from './fault-helpers.js';

/** A broker under test (`memory`: nodes of one in-process cluster sharing a backend). */
export type Backend = 'memory' | 'redis' | 'rabbitmq' | 'postgres';

/** One case's namespace on a broker: a random prefix and app name, apps made on it, and cleanup. */
export interface BrokerScope {
  readonly backend: Backend;
  readonly prefix: string;
  readonly appName: string;
  /** The Redis URL of the queue (a private server in the outage case). */
  readonly redisUrl: string;
  /** The PostgreSQL URL (`postgres`: the schema is `prefix`; a private server in the outage case). */
  readonly databaseUrl: string;
  /** Makes (does not start) one node of this scope. */
  app(options?: Partial<Omit<AppOptions, 'name' | 'adapters'>>, eventQueue?: RedisEventQueueOptions): App;
  /** Adapters of one more node (for callers that build apps themselves); `logger` reaches the RabbitMQ adapters. */
  adapters(eventQueue?: RedisEventQueueOptions, logger?: Logger): ClusterAdapters;
  /**
   * Stops every app made and deletes everything the scope wrote (keys, queues, exchange). On
   * RabbitMQ that is every queue the scope's adapters touched (the managed-queue queue each app
   * subscribes by itself included), the managed-queue queue of the app name (child-process workers
   * subscribe it too), and the queues of `channels` (for queues only raw clients touched).
   */
  dispose(channels: string[]): Promise<void>;
}

/**
 * A fresh scope on `backend`; `redisUrl` defaults to the shared Redis, `databaseUrl` to the shared
 * PostgreSQL (where the scope's schema is `prefix`; BullMQ's lock duration and stalled interval map
 * to the PostgreSQL lease and reap interval). `redis.managedJobs` picks the managed-job engine of
 * its Redis apps (default: the native engine; `{ engine: 'records' }` for the record engine's cases).
 */
export function brokerScope(
  backend: Backend,
  redisUrl = REDIS_URL,
  databaseUrl = DATABASE_URL,
  redis: Pick<RedisAdaptersOptions, 'managedJobs'> = {},
): BrokerScope {
  const prefix = randomName(backend === 'redis' ? 'ckf' : backend === 'postgres' ? 'ckfp' : 'ckfr');
  const appName = randomName('faults');
  const apps: App[] = [];
  const rabbitQueues = new Set<string>();
  const rabbitMade: ReturnType<typeof createRabbitMQAdapters>[] = [];
  const memory = createMemoryBackend();
  const adapters = (eventQueue?: RedisEventQueueOptions, logger: Logger = silentLogger): ClusterAdapters => {
    if (backend === 'memory') return createMemoryAdapters({ backend: memory });
    if (backend === 'redis') {
      return createRedisAdapters({
        url: redisUrl,
        prefix,
        onError: () => {},
        ...redis,
        ...(eventQueue ? { eventQueue } : {}),
      });
    }
    if (backend === 'postgres') {
      return createPostgresAdapters({
        connectionString: databaseUrl,
        schema: prefix,
        onError: () => {},
        eventQueue: {
          ...(eventQueue?.lockDurationMs ? { leaseMs: eventQueue.lockDurationMs } : {}),
          ...(eventQueue?.stalledIntervalMs ? { reapIntervalMs: eventQueue.stalledIntervalMs } : {}),
        },
      });
    }
    const rabbit = createRabbitMQAdapters({ url: AMQP_URL, prefix, connectionName: prefix, logger });
    rabbitMade.push(rabbit);
    return rabbit;
  };
  return {
    backend,
    prefix,
    appName,
    redisUrl,
    databaseUrl,
    adapters,
    app(options = {}, eventQueue) {
      const app = createApp({
        logger: silentLogger,
        ...options,
        name: appName,
        adapters: adapters(eventQueue, options.logger),
      });
      apps.push(app);
      rabbitQueues.add(app.managedQueue.physicalQueueName);
      return app;
    },
    async dispose(channels) {
      await Promise.allSettled(apps.map((app) => app.stop()));
      if (backend === 'memory') return;
      if (backend === 'postgres') return dropSchema(databaseUrl, prefix);
      if (backend === 'redis') {
        const client = bookkeepingClient(redisUrl);
        try {
          await deleteUnder(client, prefix);
        } finally {
          client.disconnect();
        }
        return;
      }
      for (const channel of channels) rabbitQueues.add(`${appName}:${channel}`);
      const touched = rabbitMade.flatMap(({ eventQueue }) => [...eventQueue.touchedQueues]);
      await deleteRabbitTopology(prefix, [...rabbitQueues], touched);
    },
  };
}

/**
 * Deletes the work, dead and delay queues of the logical `queues`, the physical queues in
 * `physical` (an adapter's `touchedQueues`), and the pub/sub exchange of `prefix`.
 */
export async function deleteRabbitTopology(prefix: string, queues: string[], physical: string[] = []): Promise<void> {
  const names = new Set(physical);
  for (const queue of queues) for (const name of allQueueNames(queueNames(prefix, queue))) names.add(name);
  const connection = await amqp.connect(AMQP_URL);
  connection.on('error', () => {});
  try {
    const channel = await connection.createChannel();
    for (const name of names) await channel.deleteQueue(name);
    await channel.deleteExchange(pubSubExchange(prefix));
    await channel.close();
  } finally {
    await connection.close().catch(() => {});
  }
}
