/**
 * RabbitMQ clusters for the conformance suites: each test cluster gets a random name prefix, each
 * node its own `createRabbitMQAdapters()` (its own connection), and cleanup deletes every queue and
 * exchange the cluster's adapters declared or touched. Locks and cache stay on memory (the event
 * queue and pub/sub suites do not use them across nodes). `AMQP_URL` (default
 * `amqp://guest:guest@127.0.0.1:5672`) says where RabbitMQ is; see {@link resolveAmqpUrl}.
 */
import amqp from 'amqplib';
import { silentLogger } from 'clusterkit';
import { createRabbitMQAdapters, type RabbitMQAdaptersOptions } from 'clusterkit/rabbitmq';
import type { ClusterFactory } from './cluster.js';
import { clusterFactory } from './make-cluster.js';

/** The broker URL the tests use unless `AMQP_URL` says otherwise. */
export const DEFAULT_TEST_AMQP_URL = 'amqp://guest:guest@127.0.0.1:5672';

/** Opens and closes a connection within a couple of seconds? */
export async function rabbitAnswers(url: string): Promise<boolean> {
  try {
    const connection = await amqp.connect(url, { timeout: 2_000 });
    connection.on('error', () => {});
    await connection.close();
    return true;
  } catch {
    return false;
  }
}

/** Where the tests find RabbitMQ, or why they cannot run. */
export type AmqpTarget = { url: string; stop?: () => Promise<void> } | { skip: string };

/**
 * `AMQP_URL` when it answers. Otherwise: under `CI=true` throw (tests must fail loudly, never
 * skip); else start RabbitMQ with testcontainers when Docker is there; else a visible skip reason.
 */
export async function resolveAmqpUrl(): Promise<AmqpTarget> {
  const url = process.env.AMQP_URL ?? DEFAULT_TEST_AMQP_URL;
  if (await rabbitAnswers(url)) return { url };
  if (process.env.CI === 'true') throw new Error(`RabbitMQ does not answer at ${url} (CI=true: refusing to skip)`);
  try {
    const { GenericContainer, Wait } = await import('testcontainers');
    const container = await new GenericContainer('rabbitmq:3.13-alpine')
      .withExposedPorts(5672)
      .withWaitStrategy(Wait.forLogMessage('Server startup complete'))
      .start();
    return {
      url: `amqp://guest:guest@${container.getHost()}:${container.getMappedPort(5672)}`,
      stop: async () => {
        await container.stop();
      },
    };
  } catch (error) {
    return {
      skip: `RabbitMQ does not answer at ${url} and no Docker to start one (${(error as Error).message.split('\n')[0]})`,
    };
  }
}

/** Deletes queues and exchanges by name on a fresh connection (missing ones are fine). */
export async function deleteTopology(
  url: string,
  queues: Iterable<string>,
  exchanges: Iterable<string>,
): Promise<void> {
  const connection = await amqp.connect(url);
  connection.on('error', () => {});
  try {
    const channel = await connection.createChannel();
    for (const queue of queues) await channel.deleteQueue(queue);
    for (const exchange of exchanges) await channel.deleteExchange(exchange);
    await channel.close();
  } finally {
    await connection.close();
  }
}

/** The name prefix (and connection name) of a test cluster's RabbitMQ topology. */
export function rabbitPrefix(clusterName: string): string {
  return `ckr-${clusterName}`;
}

/** A {@link ClusterFactory} over RabbitMQ; `label` shows in test names. */
export function rabbitmqFactory(
  label: string,
  url: () => string,
  extra: Omit<RabbitMQAdaptersOptions, 'url' | 'prefix' | 'connectionName'> = {},
): ClusterFactory {
  return clusterFactory(label, (clusterName) => {
    // Derived from the cluster name so tests can find (and close) this cluster's connections.
    const prefix = rabbitPrefix(clusterName);
    const made: ReturnType<typeof createRabbitMQAdapters>[] = [];
    return {
      adapters: () => {
        const adapters = createRabbitMQAdapters({
          logger: silentLogger,
          ...extra,
          url: url(),
          prefix,
          connectionName: prefix,
        });
        made.push(adapters);
        return adapters;
      },
      async cleanup() {
        const queues = new Set<string>();
        const exchanges = new Set<string>();
        for (const { eventQueue, pubSub } of made) {
          for (const name of eventQueue.touchedQueues) queues.add(name);
          queues.add(pubSub.nodeQueue);
          exchanges.add(pubSub.exchange);
        }
        await deleteTopology(url(), queues, exchanges);
      },
    };
  });
}
