/**
 * The loopback services the benchmarks run against, random names, and cleanup: Redis keys are removed
 * by prefix with SCAN + UNLINK (never KEYS, never FLUSHDB), RabbitMQ queues and exchanges by name.
 */
import { randomBytes } from 'node:crypto';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import amqp from 'amqplib';
import { Redis, type RedisOptions } from 'ioredis';

/** Redis URL: `REDIS_URL` or the loopback default. */
export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
/** AMQP URL: `AMQP_URL` or the loopback default. */
export const AMQP_URL = process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';

/** PostgreSQL URL: `DATABASE_URL` or the loopback default. */
export const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** Drops a schema the bench created (and everything in it). */
export async function dropPgSchema(schema: string): Promise<void> {
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: DATABASE_URL });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS "${schema.replace(/"/g, '""')}" CASCADE`);
  } finally {
    await client.end();
  }
}

/**
 * Every name a benchmark creates starts with this, so a crashed run's leftovers can be found.
 * `CK_BENCH_ROOT` (lowercase letters, digits, dashes; starting with `ckbench`) narrows it when several
 * people bench against one broker: the leftover sweep then touches only this root's names.
 */
export const BENCH_NAME_ROOT = process.env.CK_BENCH_ROOT ?? 'ckbench';

/** A random name `<root>-<tag>-<hex>` (lowercase letters, digits and dashes only: safe in SCAN patterns). */
export function randomName(tag: string): string {
  return `${BENCH_NAME_ROOT}-${tag}-${randomBytes(4).toString('hex')}`;
}

/**
 * A new ioredis client on the bench Redis. `maxRetriesPerRequest: null` is what BullMQ requires for
 * the connections it blocks on; harmless elsewhere.
 */
export function redisClient(options: RedisOptions = {}): Redis {
  return new Redis(REDIS_URL, { maxRetriesPerRequest: null, ...options });
}

/** Deletes every Redis key starting with `prefix` (SCAN + UNLINK in batches); returns how many. */
export async function deleteRedisPrefix(prefix: string, client?: Redis): Promise<number> {
  const redis = client ?? redisClient();
  let deleted = 0;
  try {
    let cursor = '0';
    do {
      const [nextCursor, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = nextCursor;
      if (keys.length > 0) deleted += await redis.unlink(...keys);
    } while (cursor !== '0');
  } finally {
    if (!client) await redis.quit().catch(() => redis.disconnect());
  }
  return deleted;
}

/** Deletes RabbitMQ queues and exchanges by name over one short-lived connection (missing ones are fine). */
export async function deleteRabbitObjects(names: {
  queues?: readonly string[];
  exchanges?: readonly string[];
}): Promise<void> {
  if (!names.queues?.length && !names.exchanges?.length) return;
  const connection = await amqp.connect(AMQP_URL);
  try {
    for (const queue of names.queues ?? []) {
      // A channel closes on a server error, so each delete gets its own.
      const channel = await connection.createChannel();
      await channel.deleteQueue(queue).catch(() => undefined);
      await channel.close().catch(() => undefined);
    }
    for (const exchange of names.exchanges ?? []) {
      const channel = await connection.createChannel();
      await channel.deleteExchange(exchange).catch(() => undefined);
      await channel.close().catch(() => undefined);
    }
  } finally {
    await connection.close().catch(() => undefined);
  }
}

const run = promisify(execFile);

/**
 * Lists RabbitMQ queues and exchanges whose names contain `fragment`, via `rabbitmqctl` (loopback
 * broker only). Returns empty lists when `rabbitmqctl` is not usable, since this is a safety net.
 */
export async function listRabbitObjects(fragment: string): Promise<{ queues: string[]; exchanges: string[] }> {
  const list = async (what: 'list_queues' | 'list_exchanges'): Promise<string[]> => {
    try {
      const { stdout } = await run('rabbitmqctl', ['-q', what, 'name'], { timeout: 30_000 });
      return stdout
        .split('\n')
        .map((line) => line.trim())
        .filter((name) => name.includes(fragment) && name !== 'name');
    } catch {
      return [];
    }
  };
  return { queues: await list('list_queues'), exchanges: await list('list_exchanges') };
}

/**
 * The Redis server's CPU time so far (user + system, seconds, from `INFO cpu`). The difference over a
 * run divided by its messages is the server's cost per message — only meaningful while nothing else
 * uses the server, as in a full `npm run bench` on a quiet machine.
 */
export async function redisServerCpuSeconds(client: Redis): Promise<number> {
  const info = await client.info('cpu');
  const read = (name: string) => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(info)?.[1] ?? Number.NaN);
  return read('used_cpu_user') + read('used_cpu_sys');
}

/** Measures the Redis server's CPU microseconds per unit of work done by `work()` (see {@link redisServerCpuSeconds}). */
export async function withRedisCpu<T>(
  units: number,
  work: () => Promise<T>,
): Promise<{ result: T; serverUsPerUnit: number }> {
  const client = redisClient();
  try {
    const before = await redisServerCpuSeconds(client);
    const result = await work();
    const after = await redisServerCpuSeconds(client);
    return { result, serverUsPerUnit: ((after - before) * 1e6) / units };
  } finally {
    await client.quit().catch(() => client.disconnect());
  }
}
