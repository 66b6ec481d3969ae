/**
 * A producer node SIGKILLed in the middle of an enqueue burst on one Redis server — on the native
 * engine (the default: each job is one BullMQ add), or with CK_ENGINE=records on the record engine,
 * where each job's record and ticket are one script call (`createWithTicket`): it enqueues jobs `<CK_JOB_ID>-<i>`
 * (i < CK_COUNT), 20 calls in flight, reports `enqueued {n}` after the first 50 resolved, and keeps
 * going until the parent kills it — with calls in flight. With the report: one caller id and its
 * full job id, from which the parent derives the others.
 *
 * Environment: REDIS_URL, CK_PREFIX, CK_APP, CK_JOB_ID, CK_COUNT, CK_ENGINE (native | records, default
 * native), CK_REPORT (1: also `resolved {id}` for every enqueue call that resolved, its caller id).
 * IPC out: `enqueued {n, callerId, jobId}`, `resolved {id}`.
 */
import { createApp, silentLogger } from 'clusterkit';
import { createRedisAdapters } from 'clusterkit/redis';

const env = (name: string): string => {
  const value = process.env[name];
  if (!value) throw new Error(`enqueue-burst: ${name} is not set`);
  return value;
};

const app = createApp({
  name: env('CK_APP'),
  logger: silentLogger,
  managedQueue: { worker: false },
  adapters: createRedisAdapters({
    url: env('REDIS_URL'),
    prefix: env('CK_PREFIX'),
    onError: () => {},
    managedJobs: { engine: process.env.CK_ENGINE === 'records' ? 'records' : 'native' },
  }),
});
await app.start();
const count = Number(env('CK_COUNT'));
const report = process.env.CK_REPORT === '1';
let next = 0;
let done = 0;
let fullId: { callerId: string; jobId: string } | undefined;
const lane = async (): Promise<void> => {
  while (next < count) {
    const id = `${env('CK_JOB_ID')}-${next}`;
    next += 1;
    const { jobId } = await app.managedQueue.enqueue({
      pluginName: 'orders',
      queueName: 'fulfil',
      jobName: 'ship',
      jobId: id,
      payload: { order: id },
    });
    // The full id of the caller's id (namespaced by plugin and tenant): the parent derives the others.
    fullId ??= { callerId: id, jobId };
    if (report) process.send?.({ type: 'resolved', id });
    done += 1;
    if (done === 50) process.send?.({ type: 'enqueued', n: done, ...fullId });
  }
};
await Promise.all(Array.from({ length: 20 }, lane));
process.send?.({ type: 'all-enqueued', n: done });
