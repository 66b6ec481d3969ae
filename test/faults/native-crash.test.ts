/**
 * Real SIGKILLs on the native managed-job engine (Redis's default: a managed job is a BullMQ job of
 * its handler's queue, added with its id-index entry in one script call):
 * - a producer SIGKILLed mid-burst (workers/enqueue-burst.ts, 20 enqueue calls in flight): every job
 *   that exists afterwards runs (none waits for ever), every job whose enqueue resolved before the
 *   kill exists, and enqueueing all the burst's ids again dedupes into the existing jobs and adds the
 *   missing ones — every id runs exactly once, on the surviving worker;
 * - a worker SIGKILLed mid-job (workers/native-job.ts): BullMQ's stalled check hands the job to the
 *   surviving node, which completes it within the bound of the engine's timing — the dead lock lapses
 *   after `lockDurationMs` and the stalled check that finds it runs within two `stalledIntervalMs`
 *   (it marks a job, then moves it if its lock is gone): lockDurationMs + 2 × stalledIntervalMs.
 * The record engine's crash cases are in enqueue-crash.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from 'clusterkit';
import { deferred, randomName, within } from '../helpers.js';
import { brokerScope, type BrokerScope } from './backends.js';
import { figure, REDIS_URL, WorkerProcess } from './fault-helpers.js';

/** Short native timings (as in test/jobs/native-redis.ts): a dead node's lock lapses in 2 s. */
const LOCK_MS = 2_000;
const STALLED_MS = 1_000;

describe('faults: SIGKILL on the native managed-job engine (redis)', () => {
  let scope: BrokerScope;
  let survivor: App;
  /** Runs per caller order id (burst) or payload (mid-job case), on the surviving node. */
  const runs = new Map<string, number>();
  const slowDone = new Map<string, ReturnType<typeof deferred<number>>>();

  beforeAll(async () => {
    // No `engine`: the default engine of a Redis set is the native one.
    scope = brokerScope('redis', REDIS_URL, undefined, {
      managedJobs: { lockDurationMs: LOCK_MS, stalledIntervalMs: STALLED_MS },
    });
    survivor = scope.app();
    await survivor.managedQueue.process(
      { pluginName: 'orders', queueName: 'fulfil', jobName: 'ship', concurrency: 8 },
      (job) => {
        const order = (job.data as { order: string }).order;
        runs.set(order, (runs.get(order) ?? 0) + 1);
      },
    );
    await survivor.start();
  }, 60_000);

  afterAll(async () => {
    await scope?.dispose([]);
  }, 60_000);

  it('a producer SIGKILLed mid-burst: every job that exists runs, resolved ones exist, re-enqueueing dedupes', async () => {
    const mq = survivor.managedQueue;
    const callerId = randomName('burst');
    const count = 2_000;
    const producer = new WorkerProcess('enqueue-burst.ts', {
      REDIS_URL,
      CK_PREFIX: scope.prefix,
      CK_APP: scope.appName,
      CK_JOB_ID: callerId,
      CK_COUNT: String(count),
      CK_REPORT: '1',
    });
    let sample: Record<string, unknown>;
    try {
      sample = await producer.next((m) => m.type === 'enqueued', 'the first 50 enqueues');
    } finally {
      await producer.kill();
    }
    // The enqueue calls the producer saw resolve (every report that reached us before or after the kill).
    const resolved = producer.messages.filter((m) => m.type === 'resolved').map((m) => m.id as string);
    expect(resolved.length).toBeGreaterThanOrEqual(50);
    expect(resolved.length).toBeLessThan(count); // killed mid-burst
    const namespace = (sample.jobId as string).slice(0, -(sample.callerId as string).length);
    const orders = Array.from({ length: count }, (_, i) => `${callerId}-${i}`);
    const existing = new Set<string>();
    for (const order of orders) if (await mq.getJob(`${namespace}${order}`)) existing.add(order);
    for (const order of resolved) expect(existing.has(order), `resolved enqueue ${order} exists`).toBe(true);
    // Every job that exists runs (none is left waiting for ever), once.
    for (const order of existing) {
      await mq.waitForJob(`${namespace}${order}`, { timeoutMs: 10_000 });
      expect(runs.get(order), order).toBe(1);
    }
    figure('native-crash', 'jobs that existed after the mid-burst kill (all ran once)', existing.size);
    // Enqueueing every id again: an existing job's id dedupes (no second run), a missing one is added.
    for (const order of orders) {
      const { jobId } = await mq.enqueue({
        pluginName: 'orders',
        queueName: 'fulfil',
        jobName: 'ship',
        jobId: order,
        payload: { order },
      });
      expect(jobId).toBe(`${namespace}${order}`);
    }
    for (const order of orders) await mq.waitForJob(`${namespace}${order}`, { timeoutMs: 10_000 });
    const notOnce = orders.filter((order) => runs.get(order) !== 1);
    expect(notOnce).toEqual([]);
  }, 120_000);

  it(`a worker SIGKILLed mid-job: the survivor completes the job within lockDurationMs + 2 × stalledIntervalMs`, async () => {
    const mq = survivor.managedQueue;
    const worker = new WorkerProcess('native-job.ts', {
      REDIS_URL,
      CK_PREFIX: scope.prefix,
      CK_APP: scope.appName,
      CK_LOCK_DURATION_MS: String(LOCK_MS),
      CK_STALLED_INTERVAL_MS: String(STALLED_MS),
    });
    try {
      await worker.next((m) => m.type === 'ready', 'the worker');
      // Only the worker process has the handler yet: it takes the job.
      const { jobId } = await mq.enqueue({ pluginName: 'orders', queueName: 'slow', jobName: 'ship', payload: 's1' });
      const running = await worker.next((m) => m.type === 'running', 'the job running on the worker', 15_000);
      expect(running.jobId).toBe(jobId);
      slowDone.set('s1', deferred<number>());
      await mq.process({ pluginName: 'orders', queueName: 'slow', jobName: 'ship' }, (job) => {
        runs.set(String(job.data), (runs.get(String(job.data)) ?? 0) + 1);
        slowDone.get(String(job.data))?.resolve(Date.now());
      });
      await worker.kill();
      const killedAt = Date.now();
      const bound = LOCK_MS + 2 * STALLED_MS;
      // The bound plus the time a loaded machine takes to schedule the check and the survivor's fetch.
      const startedAt = await within(slowDone.get('s1')!.promise, bound + 3_000, 'the job taken over');
      figure('native-crash', 'worker kill → job start on the survivor ms', startedAt - killedAt);
      await mq.waitForJob(jobId, { timeoutMs: 10_000 });
      const job = (await mq.getJob(jobId))!;
      expect(job.state).toBe('completed');
      expect(runs.get('s1')).toBe(1);
      expect(job.history.at(-1)).toMatchObject({ node: survivor.nodeId, outcome: 'completed' });
    } finally {
      await worker.kill();
    }
  }, 60_000);
});
