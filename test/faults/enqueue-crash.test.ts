/**
 * Crash between saving a job's record and publishing its ticket (Redis, and PostgreSQL with its
 * native job store): a producer process is
 * SIGKILLed inside that window (workers/enqueue-crash.ts). Before issue 13 the job stayed `waiting`
 * for ever and enqueueing its id again deduplicated into the stuck job. Now the record says "ticket
 * pending", and
 * - the reconciler republishes the ticket within its bound (ticketRepairMs × 1.5 + one pass), and
 * - enqueueing the same id again republishes it at once.
 * The same repair covers jobs *parked* by a busy worker that is SIGKILLed (workers/parked-crash.ts):
 * their physical tickets were acknowledged, the store says "parked by" the dead node.
 * On one Redis server the record and ticket are one script call and the window does not exist
 * (the worker forces the two-step fallback open); a producer SIGKILLed mid-burst on that fused path
 * (workers/enqueue-burst.ts) leaves every written job runnable and none pending.
 * Every case runs the record engine (`managedJobs: { engine: 'records' }` on Redis); the native
 * engine's crash cases are in native-crash.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from 'clusterkit';
import { deferred, randomName, within } from '../helpers.js';
import { brokerScope, type BrokerScope } from './backends.js';
import { DATABASE_URL, figure, REDIS_URL, WorkerProcess } from './fault-helpers.js';

const REPAIR_MS = 1_000;
/** Every case here is about the record engine's records and tickets (the native engine: native-crash.test.ts). */
const RECORDS = { managedJobs: { engine: 'records' } } as const;

describe.each(['redis', 'postgres'] as const)(
  'faults: crash between record write and ticket publish (%s)',
  (backend) => {
    let scope: BrokerScope;
    let worker: App;
    const ran = new Map<string, ReturnType<typeof deferred<number>>>();
    const runOf = (id: string) => {
      if (!ran.has(id)) ran.set(id, deferred<number>());
      return ran.get(id)!;
    };

    beforeAll(async () => {
      // The record engine's window (record saved, ticket not published): explicitly on Redis.
      scope = brokerScope(backend, REDIS_URL, DATABASE_URL, RECORDS);
      worker = scope.app({ managedQueue: { ticketRepairMs: REPAIR_MS } });
      await worker.managedQueue.process({ pluginName: 'orders', queueName: 'fulfil', jobName: 'ship' }, (job) => {
        runOf((job.data as { order: string }).order).resolve(Date.now());
      });
      await worker.start();
    }, 60_000);

    afterAll(async () => {
      await scope?.dispose([]);
    }, 60_000);

    async function crashedEnqueue(callerId: string): Promise<{ jobId: string; killedAt: number }> {
      const producer = new WorkerProcess('enqueue-crash.ts', {
        CK_BACKEND: backend,
        REDIS_URL,
        DATABASE_URL,
        CK_PREFIX: scope.prefix,
        CK_APP: scope.appName,
        CK_JOB_ID: callerId,
      });
      try {
        const written = await producer.next((m) => m.type === 'record-written', 'the record write');
        await producer.kill();
        return { jobId: written.jobId as string, killedAt: Date.now() };
      } finally {
        await producer.kill();
      }
    }

    it('the reconciler republishes the ticket of a job whose producer was SIGKILLed, within its bound', async () => {
      const callerId = randomName('order');
      const { jobId, killedAt } = await crashedEnqueue(callerId);
      expect(await worker.managedQueue.getJob(jobId)).toMatchObject({ state: 'waiting' });
      const bound = REPAIR_MS * 1.5 + 2_000;
      const startedAt = await within(runOf(callerId).promise, bound + 5_000, 'the repaired job');
      figure('enqueue-crash', 'kill → job start ms (reconciler)', startedAt - killedAt);
      expect(startedAt - killedAt).toBeLessThanOrEqual(bound);
      await worker.managedQueue.waitForJob(jobId, { timeoutMs: 10_000 });
      expect(await worker.managedQueue.getJob(jobId)).toMatchObject({ state: 'completed', attemptsMade: 1 });
    }, 60_000);

    it('enqueueing the same id again after the crash repairs the job at once', async () => {
      const callerId = randomName('order');
      const { killedAt } = await crashedEnqueue(callerId);
      const { jobId } = await worker.managedQueue.enqueue({
        pluginName: 'orders',
        queueName: 'fulfil',
        jobName: 'ship',
        jobId: callerId,
        payload: { order: callerId },
      });
      const startedAt = await within(runOf(callerId).promise, REPAIR_MS, 'the job repaired by the dedupe path');
      figure('enqueue-crash', 'kill → job start ms (re-enqueue)', startedAt - killedAt);
      expect((await worker.managedQueue.getJob(jobId))!.history).toHaveLength(1);
    }, 60_000);

    it('a producer SIGKILLed mid-burst (record and ticket in one step on Redis) leaves no job waiting for ever', async ({
      skip,
    }) => {
      if (backend !== 'redis') skip('record and ticket in one step: Redis job store + Redis event queue');
      const callerId = randomName('burst');
      const count = 2_000;
      const producer = new WorkerProcess('enqueue-burst.ts', {
        REDIS_URL,
        CK_PREFIX: scope.prefix,
        CK_APP: scope.appName,
        CK_JOB_ID: callerId,
        CK_COUNT: String(count),
        CK_ENGINE: 'records',
      });
      let sample: Record<string, unknown>;
      try {
        sample = await producer.next((m) => m.type === 'enqueued', 'the first 50 enqueues');
      } finally {
        await producer.kill();
      }
      // Every job that exists (the killed burst had calls in flight) runs; none is left pending.
      const namespace = (sample.jobId as string).slice(0, -(sample.callerId as string).length);
      const ids = Array.from({ length: count }, (_, i) => `${namespace}${callerId}-${i}`);
      const existing: string[] = [];
      for (const id of ids) {
        const job = await worker.managedQueue.getJob(id);
        if (job) existing.push(job.id);
      }
      expect(existing.length).toBeGreaterThanOrEqual(50);
      for (const id of existing) await worker.managedQueue.waitForJob(id, { timeoutMs: 10_000 });
      expect(await worker.managedQueue.jobStore.pendingTickets(Date.now(), 10)).toEqual([]);
      figure('enqueue-crash', 'jobs written before the mid-burst kill (all ran)', existing.length);
    }, 60_000);

    it('jobs parked by a worker that is SIGKILLed are republished once its heartbeat lapses', async () => {
      const done = new Map<string, ReturnType<typeof deferred<void>>>();
      const busy = new WorkerProcess('parked-crash.ts', {
        CK_BACKEND: backend,
        REDIS_URL,
        DATABASE_URL,
        CK_PREFIX: scope.prefix,
        CK_APP: scope.appName,
        CK_PARKED: '3',
      });
      try {
        await busy.next((m) => m.type === 'ready', 'the busy worker');
        // Only the busy worker has the handler: this node hands the tickets over to it.
        const ids: string[] = [];
        for (let i = 0; i < 4; i += 1) {
          done.set(String(i), deferred());
          ids.push(
            (
              await worker.managedQueue.enqueue({
                pluginName: 'orders',
                queueName: 'slow',
                jobName: 'ship',
                payload: i,
              })
            ).jobId,
          );
        }
        await busy.next((m) => m.type === 'parked', 'three parked jobs on the busy worker', 15_000);
        const running = (await Promise.all(ids.map((id) => worker.managedQueue.getJob(id)))).find(
          (job) => job!.state === 'active',
        );
        await worker.managedQueue.process(
          { pluginName: 'orders', queueName: 'slow', jobName: 'ship', concurrency: 4 },
          (job) => {
            done.get(String(job.data))?.resolve();
          },
        );
        await busy.kill();
        const killedAt = Date.now();
        const parked = ids.filter((id) => id !== running?.id);
        await within(
          Promise.all(
            parked.map(async (id) => done.get(String((await worker.managedQueue.getJob(id))!.payload))!.promise),
          ),
          // heartbeat lapse (1 s) + the reconciler bound, at worst 2.5 × ticketRepairMs + one pass
          1_000 + REPAIR_MS * 2.5 + 3_000,
          'the three parked jobs after the kill',
        );
        figure('enqueue-crash', 'kill → 3 parked jobs done ms', Date.now() - killedAt);
        // Started is not finished yet: wait for each to complete (on any store, however fast its writes).
        for (const id of parked) await worker.managedQueue.waitForJob(id, { timeoutMs: 10_000 });
        for (const id of parked) expect((await worker.managedQueue.getJob(id))!.state).toBe('completed');
      } finally {
        await busy.kill();
      }
    }, 60_000);
  },
);

describe('faults: a worker SIGKILLed while it holds tickets waiting for a park turn (redis)', () => {
  let scope: BrokerScope;
  let rescuer: App;
  const done = new Map<string, ReturnType<typeof deferred<void>>>();

  beforeAll(() => {
    scope = brokerScope('redis', REDIS_URL, DATABASE_URL, RECORDS);
    // The only other node: it checks for stalled physical messages every 500 ms (the killed worker's
    // locks last 1 s). BullMQ lets one node check per interval, so no node here has a longer one.
    rescuer = scope.app(
      { managedQueue: { ticketRepairMs: REPAIR_MS } },
      { stalledIntervalMs: 500, lockDurationMs: 1_000 },
    );
  });

  afterAll(async () => {
    await scope?.dispose([]);
  }, 60_000);

  it('its held tickets are unacknowledged: the queue redelivers them and another node runs every job', async () => {
    const busy = new WorkerProcess('parked-crash.ts', {
      CK_BACKEND: 'redis',
      REDIS_URL,
      CK_PREFIX: scope.prefix,
      CK_APP: scope.appName,
      CK_HOLD: '1',
    });
    try {
      await rescuer.start();
      await busy.next((m) => m.type === 'ready', 'the busy worker');
      const ids: string[] = [];
      for (let i = 0; i < 4; i += 1) {
        done.set(`h${i}`, deferred());
        const input = { pluginName: 'orders', queueName: 'slow', jobName: 'ship', payload: `h${i}` };
        ids.push((await rescuer.managedQueue.enqueue(input)).jobId);
      }
      // One job running, one ticket in its (endless) park write, two held: 4 unacknowledged tickets.
      await busy.next((m) => m.type === 'held', 'four busy slots on the worker', 15_000);
      // Nothing was parked (acknowledged): the store has no "parked by" mark to repair from.
      const pending = await rescuer.managedQueue.jobStore.pendingTickets(Date.now(), 100);
      expect(pending.filter((record) => record.parkedBy !== undefined)).toEqual([]);
      await busy.kill();
      const killedAt = Date.now();
      await rescuer.managedQueue.process(
        { pluginName: 'orders', queueName: 'slow', jobName: 'ship', concurrency: 4 },
        (job) => {
          done.get(String(job.data))?.resolve();
        },
      );
      await within(Promise.all([...done.values()].map((d) => d.promise)), 20_000, 'the four jobs of the killed worker');
      figure('enqueue-crash', 'kill → 4 held/parking/running jobs done ms', Date.now() - killedAt);
      for (const id of ids) await rescuer.managedQueue.waitForJob(id, { timeoutMs: 10_000 });
      for (const id of ids) expect((await rescuer.managedQueue.getJob(id))!.state).toBe('completed');
    } finally {
      await busy.kill();
    }
  }, 60_000);
});
