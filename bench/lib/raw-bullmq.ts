/**
 * The raw BullMQ baseline, set up the way its documentation shows: a `Queue` to add jobs and a
 * `Worker` with a processor function, each on its own ioredis connection, under a random key prefix
 * that is deleted afterwards.
 */
import { Queue, Worker, type Job, type JobsOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import { deleteRedisPrefix, randomName, redisClient } from './services.js';

/** Retention matching clusterkit's Redis adapter defaults (`keepCompleted`, `keepDead`). */
export const DEFAULT_JOB_OPTIONS: JobsOptions = { removeOnComplete: { count: 1000 }, removeOnFail: { count: 100_000 } };

/** A running raw BullMQ queue + worker. */
export interface RawBullmq {
  readonly queue: Queue;
  readonly worker: Worker;
  /** Adds one job, as `queue.add(name, data, opts)`. */
  add(data: unknown, opts?: JobsOptions): Promise<unknown>;
  /** Closes the worker and queue, deletes every key under the prefix, closes the connections. */
  close(): Promise<void>;
}

/** Options of {@link startRawBullmq}. */
export interface RawBullmqOptions {
  readonly concurrency: number;
  readonly process: (job: Job) => Promise<unknown> | unknown;
  /**
   * Job options for every add. The default keeps what clusterkit's Redis adapter keeps by default
   * (1,000 completed jobs, 100,000 failed), so both sides do the same retention work.
   */
  readonly jobOptions?: JobsOptions;
}

/** Starts a queue and a worker on a fresh prefix and waits until the worker is ready. */
export async function startRawBullmq(options: RawBullmqOptions): Promise<RawBullmq> {
  const prefix = randomName('bullmq');
  const queueName = 'bench';
  const connections: Redis[] = [redisClient(), redisClient()];
  const [queueConnection, workerConnection] = connections as [Redis, Redis];
  const queue = new Queue(queueName, { connection: queueConnection, prefix });
  const worker = new Worker(queueName, async (job) => options.process(job), {
    connection: workerConnection,
    prefix,
    concurrency: options.concurrency,
  });
  worker.on('error', () => undefined);
  await worker.waitUntilReady();
  await queue.waitUntilReady();
  const jobOptions = options.jobOptions ?? DEFAULT_JOB_OPTIONS;
  return {
    queue,
    worker,
    add: (data, opts) => queue.add('m', data, opts ? { ...jobOptions, ...opts } : jobOptions),
    async close() {
      await worker.close().catch(() => undefined);
      await queue.close().catch(() => undefined);
      await deleteRedisPrefix(prefix, queueConnection).catch(() => undefined);
      await Promise.all(connections.map((c) => c.quit().catch(() => c.disconnect())));
    },
  };
}
