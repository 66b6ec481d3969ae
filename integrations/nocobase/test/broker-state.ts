/**
 * What a test leaves on the brokers. After every node stopped, nothing a node owned may remain — no
 * lease, no worker id, no message in any state, no per-node queue. What may remain is the cluster's
 * durable definitions, which no node owns and which must outlive every node: a queue's metadata
 * (BullMQ's `meta`, `id`, `events`, `stalled-check`; RabbitMQ's empty work queues) and the lock
 * fencing counters (so fencing tokens never go back). Tests then remove those too.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import amqp from 'amqplib';
import { AMQP_URL, deleteRedisKeys, redisKeys } from './services.js';

const run = promisify(execFile);

/** Durable, node-independent Redis keys: queue metadata and fencing counters. */
const DURABLE_REDIS_KEY = /(:fence|:q:\{[^}]*\}:(meta|id|events|stalled-check))$/;

/** Redis keys under `prefix` that a stopped cluster must not have left (anything but durable definitions). */
export async function redisLeftovers(prefix: string): Promise<string[]> {
  return (await redisKeys(prefix)).filter((key) => !DURABLE_REDIS_KEY.test(key));
}

/** RabbitMQ queues whose name starts with `prefix`, with their message counts. */
export async function rabbitQueues(prefix: string): Promise<{ name: string; messages: number }[]> {
  const { stdout } = await run('rabbitmqctl', ['list_queues', 'name', 'messages', '--quiet', '--no-table-headers'], {
    timeout: 60_000,
  });
  return stdout
    .split('\n')
    .map((line) => line.trim().split(/\s+/))
    .filter(([name]) => name?.startsWith(`${prefix}.`))
    .map(([name, messages]) => ({ name: name!, messages: Number(messages) }));
}

/** RabbitMQ queues under `prefix` a stopped cluster must not have left: per-node queues, and any queue holding messages. */
export async function rabbitLeftovers(prefix: string): Promise<string[]> {
  return (await rabbitQueues(prefix))
    .filter((queue) => queue.name.includes('.pubsub.node.') || queue.messages > 0)
    .map((queue) => `${queue.name} (${queue.messages} messages)`);
}

/** Deletes every RabbitMQ queue under `prefix`. */
export async function deleteRabbitQueues(prefix: string): Promise<void> {
  const queues = await rabbitQueues(prefix);
  if (queues.length === 0) return;
  const connection = await amqp.connect(AMQP_URL);
  try {
    const channel = await connection.createChannel();
    for (const { name } of queues) await channel.deleteQueue(name);
    await channel.close();
  } finally {
    await connection.close();
  }
}

/** Removes everything a test left under `prefix` on Redis and RabbitMQ. */
export async function cleanBrokers(prefix: string, rabbit: boolean): Promise<void> {
  await deleteRedisKeys(prefix);
  if (rabbit) await deleteRabbitQueues(prefix);
}
