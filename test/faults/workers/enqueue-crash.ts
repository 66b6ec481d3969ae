/**
 * A producer node that dies between writing a job's record and publishing its ticket, for the
 * enqueue-crash case: it enqueues job `CK_JOB_ID`; its physical-queue publish reports
 * `record-written` and never returns, and the parent SIGKILLs it right there — a real crash in the
 * window, not a simulated one.
 *
 * Environment: CK_BACKEND (redis | postgres, default redis), REDIS_URL or DATABASE_URL, CK_PREFIX
 * (the key prefix or schema), CK_APP, CK_JOB_ID. IPC out: `record-written {jobId}`.
 */
import { createApp, silentLogger } from 'clusterkit';
import { createPostgresAdapters } from 'clusterkit/postgres';
import { createRedisAdapters } from 'clusterkit/redis';

const env = (name: string): string => {
  const value = process.env[name];
  if (!value) throw new Error(`enqueue-crash: ${name} is not set`);
  return value;
};

const app = createApp({
  name: env('CK_APP'),
  logger: silentLogger,
  managedQueue: { worker: false },
  adapters:
    process.env.CK_BACKEND === 'postgres'
      ? createPostgresAdapters({ connectionString: env('DATABASE_URL'), schema: env('CK_PREFIX'), onError: () => {} })
      : // The record engine: the window between its record write and its ticket publish is the case.
        createRedisAdapters({
          url: env('REDIS_URL'),
          prefix: env('CK_PREFIX'),
          onError: () => {},
          managedJobs: { engine: 'records' },
        }),
});
await app.start();
// A Redis store and Redis event queue on one server write the record and its ticket in one script
// (`createWithTicket`): no window. The two-step path stays the fallback (a Redis Cluster, a store and
// a queue on different servers), so the window is forced open here: the store is handed an adapter
// it cannot write with.
const prepare = app.eventQueue.prepareRecord.bind(app.eventQueue);
app.eventQueue.prepareRecord = ((...args: Parameters<typeof prepare>) => ({
  ...prepare(...args),
  adapter: {} as ReturnType<typeof prepare>['adapter'],
})) as typeof prepare;
const publish = app.eventQueue.publish.bind(app.eventQueue);
app.eventQueue.publish = ((channel: string, message: unknown, options?: object) => {
  if (channel !== app.managedQueue.physicalChannel) return publish(channel, message, options);
  // The record is in the store; the ticket is not on the queue. Hold here until killed.
  process.send?.({ type: 'record-written', jobId: (message as { jobId: string }).jobId });
  return new Promise(() => {});
}) as typeof app.eventQueue.publish;
void app.managedQueue.enqueue({
  pluginName: 'orders',
  queueName: 'fulfil',
  jobName: 'ship',
  jobId: env('CK_JOB_ID'),
  payload: { order: env('CK_JOB_ID') },
});
