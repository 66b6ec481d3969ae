/**
 * A worker node on the native managed-job engine (Redis's default) that dies mid-job, for
 * native-crash.test.ts: its handler (`orders/slow/ship`, concurrency 1) reports `running {jobId}`
 * for the first job it starts and never finishes it; the parent SIGKILLs it there. Its BullMQ lock
 * lasts CK_LOCK_DURATION_MS and its stalled check runs every CK_STALLED_INTERVAL_MS.
 *
 * Environment: REDIS_URL, CK_PREFIX, CK_APP, CK_LOCK_DURATION_MS, CK_STALLED_INTERVAL_MS.
 * IPC out: `ready`, `running {jobId}`.
 */
import { createApp, silentLogger } from 'clusterkit';
import { createRedisAdapters } from 'clusterkit/redis';

const env = (name: string): string => {
  const value = process.env[name];
  if (!value) throw new Error(`native-job: ${name} is not set`);
  return value;
};

const app = createApp({
  name: env('CK_APP'),
  logger: silentLogger,
  adapters: createRedisAdapters({
    url: env('REDIS_URL'),
    prefix: env('CK_PREFIX'),
    onError: () => {},
    managedJobs: {
      lockDurationMs: Number(env('CK_LOCK_DURATION_MS')),
      stalledIntervalMs: Number(env('CK_STALLED_INTERVAL_MS')),
    },
  }),
});
await app.managedQueue.process(
  { pluginName: 'orders', queueName: 'slow', jobName: 'ship', concurrency: 1 },
  async (job) => {
    process.send?.({ type: 'running', jobId: job.id });
    await new Promise<never>(() => {}); // never finishes: killed mid-job
  },
);
await app.start();
process.send?.({ type: 'ready' });
