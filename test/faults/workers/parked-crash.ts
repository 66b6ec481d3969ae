/**
 * A worker node that parks jobs and dies, for the enqueue-crash case: its handler (concurrency 1)
 * blocks on the first job, so the next tickets are parked here (acknowledged on the physical queue,
 * marked parked by this node in the store); it reports `parked {count}` and the parent SIGKILLs it.
 *
 * With CK_HOLD=1 (Redis) it parks nothing: 4 physical slots (one park turn) and a park write that
 * never completes, so after the running job one ticket waits in its park write and the others are
 * *held* (unacknowledged on the physical queue); it reports `held {active}` once its 4 slots are busy.
 *
 * Environment: CK_BACKEND (redis | postgres, default redis), REDIS_URL or DATABASE_URL, CK_PREFIX
 * (the key prefix or schema), CK_APP, CK_PARKED (how many parked jobs to wait for), CK_HOLD.
 * IPC out: `ready`, `running`, `parked {count}`, `held {active}`.
 */
import { createApp, silentLogger } from 'clusterkit';
import { createPostgresAdapters } from 'clusterkit/postgres';
import { createRedisAdapters } from 'clusterkit/redis';

const env = (name: string): string => {
  const value = process.env[name];
  if (!value) throw new Error(`parked-crash: ${name} is not set`);
  return value;
};

const hold = process.env.CK_HOLD === '1';
const app = createApp({
  name: env('CK_APP'),
  logger: silentLogger,
  managedQueue: { heartbeatTtlMs: 1_000, processorGraceMs: 5_000, ...(hold ? { workerConcurrency: 4 } : {}) },
  adapters:
    process.env.CK_BACKEND === 'postgres'
      ? createPostgresAdapters({ connectionString: env('DATABASE_URL'), schema: env('CK_PREFIX'), onError: () => {} })
      : createRedisAdapters({
          url: env('REDIS_URL'),
          prefix: env('CK_PREFIX'),
          onError: () => {},
          // The record engine: parked and held tickets are its own.
          managedJobs: { engine: 'records' },
          // Short physical locks: what this node held unacknowledged is redelivered soon after the kill.
          ...(hold ? { eventQueue: { lockDurationMs: 1_000, stalledIntervalMs: 500 } } : {}),
        }),
});
if (hold) app.managedQueue.jobStore.park = () => new Promise<boolean>(() => {}); // a park write that never ends
await app.managedQueue.process(
  { pluginName: 'orders', queueName: 'slow', jobName: 'ship', concurrency: 1 },
  async () => {
    process.send?.({ type: 'running' });
    await new Promise<never>(() => {}); // never finishes: the lane stays full until the kill
  },
);
await app.start();
process.send?.({ type: 'ready' });
const want = Number(process.env.CK_PARKED ?? '0');
const timer = setInterval(() => {
  if (hold) {
    void app.eventQueue.counts(app.managedQueue.physicalChannel).then((counts) => {
      if (counts.active >= 4) {
        clearInterval(timer);
        process.send?.({ type: 'held', active: counts.active });
      }
    });
    return;
  }
  void app.managedQueue.jobStore.pendingTickets(Date.now(), 1_000).then((pending) => {
    const parked = pending.filter((r) => r.parkedBy === app.nodeId).length;
    if (parked >= want) {
      clearInterval(timer);
      process.send?.({ type: 'parked', count: parked });
    }
  });
}, 20);
