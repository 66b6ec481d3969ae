/**
 * The managed-job suites on Redis's default engine, the native one (label 'redis'; the record
 * engine's run is redis.test.ts, 'redis records'): the public-API suites' cases it covers (the features it declares below; every other case is not
 * registered for it), and what only it needs: priority order behind a busy handler, a lost lock never running a job twice at once, cancel with
 * abortActive, the attempt history after a retry.
 */
import { JobCancelledError, runWithTenant, type App } from 'clusterkit';
import { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ClusterFactory, TestCluster } from '../conformance/cluster.js';
import { counter, deferred, within } from '../helpers.js';
import { adminSuite } from './admin.suite.js';
import { basicsSuite } from './basics.suite.js';
import { clusterSuite } from './cluster.suite.js';
import { controlSuite } from './control.suite.js';
import { FAST, NATIVE_FEATURES, startNode } from './jobs-helpers.js';
import { onNativeRedis, scanNativeLocks } from './native-redis.js';
import { scopedStateSuite } from './scoped-state.suite.js';
import { transitionsSuite } from './transitions.suite.js';

await onNativeRedis(
  'managed jobs on the native engine',
  (factory, url) => {
    basicsSuite(factory);
    controlSuite(factory);
    clusterSuite(factory);
    transitionsSuite(factory);
    adminSuite(factory);
    scopedStateSuite(factory);
    // busyLaneSuite: every case is about held and parked tickets ('busy-lane'); the native engine's
    // busy handler is covered below (priority order behind it).
    nativeOnly(factory, url);
  },
  // Label 'redis': the default engine of a Redis set ('redis records' is redis.test.ts).
  { label: 'redis', managedFeatures: new Set(NATIVE_FEATURES) },
);

function nativeOnly(factory: ClusterFactory, url: string): void {
  describe('managed jobs on the native engine (redis)', () => {
    let cluster: TestCluster;
    let redis: Redis;
    beforeEach(() => {
      cluster = factory.create();
      redis = new Redis(url);
    });
    afterEach(async () => {
      redis.disconnect();
      await cluster.dispose();
    });

    it("reads a job's options back, defaults (left out of BullMQ's data) and given ones", async () => {
      const app = await startNode(cluster);
      const mq = app.managedQueue;
      const job = { pluginName: 'p', queueName: 'q', jobName: 'opts' };
      const plain = await mq.enqueue({ ...job, payload: { a: 1 } });
      const given = await mq.enqueue({
        ...job,
        payload: 'x',
        priority: 7,
        attempts: 4,
        backoff: { type: 'fixed', delay: 25 },
        delayMs: 60_000,
        removeOnComplete: true,
        removeOnFail: 30_000,
      });
      expect((await mq.getJob(plain.jobId))!.options).toEqual({
        attempts: 1,
        backoff: { type: 'exponential', delay: 1_000, maxDelay: 60_000, jitter: 0.2 },
        delayMs: 0,
        priority: 2,
        removeOnComplete: false,
        removeOnFail: false,
      });
      const info = (await mq.getJob(given.jobId))!;
      expect(info).toMatchObject({ priority: 7, payload: 'x', state: 'delayed' });
      expect(info.options).toEqual({
        attempts: 4,
        backoff: { type: 'fixed', delay: 25, maxDelay: 60_000, jitter: 0 },
        delayMs: 60_000,
        priority: 7,
        removeOnComplete: true,
        removeOnFail: 30_000,
      });
      expect(info.timestamps.runAt).toBe(info.timestamps.enqueuedAt + 60_000);
    });

    it('runs queued jobs in priority order behind a busy handler (lower first, FIFO within one)', async () => {
      const app = await startNode(cluster);
      const gate = deferred();
      const busy = deferred();
      const order: string[] = [];
      const all = counter(6);
      await app.managedQueue.process({ pluginName: 'p', queueName: 'q', jobName: 'j', concurrency: 1 }, async (job) => {
        if (job.data === 'long') {
          busy.resolve();
          await gate.promise;
        }
        order.push(job.data as string);
        all.hit();
      });
      await app.managedQueue.enqueue({ pluginName: 'p', queueName: 'q', jobName: 'j', payload: 'long' });
      await within(busy.promise, 10_000, 'the long job');
      for (const [payload, priority] of [
        ['3a', 3],
        ['3b', 3],
        ['2', 2],
        ['0', 0],
        ['1', 1],
      ] as const) {
        await app.managedQueue.enqueue({ pluginName: 'p', queueName: 'q', jobName: 'j', payload, priority });
      }
      gate.resolve();
      await within(all.done, 10_000, 'six jobs');
      expect(order).toEqual(['long', '0', '1', '2', '3a', '3b']);
    });

    it('keeps the attempt history (node, start, end, error) and attemptsMade after a retry', async () => {
      const app = await startNode(cluster);
      await app.managedQueue.process({ pluginName: 'p', queueName: 'q', jobName: 'flaky' }, (job) => {
        if (job.attemptsMade === 0) throw new Error('first try fails');
        return 'second';
      });
      const { jobId } = await runWithTenant({ tenantId: 'acme' }, () =>
        app.managedQueue.enqueue({
          pluginName: 'p',
          queueName: 'q',
          jobName: 'flaky',
          payload: 1,
          attempts: 3,
          backoffMs: 10,
        }),
      );
      expect(await app.managedQueue.waitForJob(jobId, { timeoutMs: 10_000 })).toBe('second');
      const info = (await app.managedQueue.getJob(jobId))!;
      expect(info).toMatchObject({
        state: 'completed',
        attemptsMade: 2,
        attemptsStarted: 2,
        maxAttempts: 3,
        tenantId: 'acme',
      });
      expect(info.history.map((h) => [h.attempt, h.node, h.outcome, h.error?.message])).toEqual([
        [1, app.nodeId, 'failed', 'first try fails'],
        [2, app.nodeId, 'completed', undefined],
      ]);
      for (const h of info.history) expect(h.finishedAt).toBeGreaterThanOrEqual(h.startedAt);
      // Another tenant does not see it.
      expect(await runWithTenant({ tenantId: 'other' }, () => app.managedQueue.getJob(jobId))).toBeNull();
    });

    it('keeps the last 20 attempts, each failure message exactly (quotes, backslashes, newlines, non-ASCII)', async () => {
      const app = await startNode(cluster);
      const message = (n: number) => `try "${n}" \\ failed\nline 2 — ✓ {"x":[1]}`;
      await app.managedQueue.process({ pluginName: 'p', queueName: 'q', jobName: 'many' }, (job) => {
        if (job.attemptsMade < 24) throw new Error(message(job.attemptsMade + 1));
        return 'done';
      });
      const { jobId } = await app.managedQueue.enqueue({
        pluginName: 'p',
        queueName: 'q',
        jobName: 'many',
        payload: null,
        attempts: 25,
        backoff: { type: 'fixed', delay: 0 },
      });
      expect(await app.managedQueue.waitForJob(jobId, { timeoutMs: 20_000 })).toBe('done');
      const info = (await app.managedQueue.getJob(jobId))!;
      expect(info).toMatchObject({ state: 'completed', attemptsMade: 25 });
      expect(info.history.map((h) => [h.attempt, h.outcome, h.error?.message])).toEqual([
        ...Array.from({ length: 19 }, (_, i) => [i + 6, 'failed', message(i + 6)]),
        [25, 'completed', undefined],
      ]);
      for (const h of info.history) {
        expect(h.node).toBe(app.nodeId);
        expect(h.finishedAt).toBeGreaterThanOrEqual(h.startedAt);
      }
    });

    it('cancels waiting and delayed jobs (never run; waiters rejected) and reports finished ones', async () => {
      const app = await startNode(cluster);
      const ran: unknown[] = [];
      const mq = app.managedQueue;
      const delayed = await mq.enqueue({
        pluginName: 'p',
        queueName: 'q',
        jobName: 'later',
        payload: 'd',
        delayMs: 60_000,
      });
      const waiting = await mq.enqueue({ pluginName: 'p', queueName: 'q', jobName: 'idle', payload: 'w', jobId: 'w1' });
      expect((await mq.getJob(delayed.jobId))!.state).toBe('delayed');
      const waited = mq.waitForJob(waiting.jobId, { timeoutMs: 10_000 }).catch((e: unknown) => e);
      expect(await mq.cancel({ jobId: delayed.jobId })).toEqual({ success: true });
      expect(await mq.cancel({ jobId: waiting.jobId })).toEqual({ success: true });
      expect(await waited).toBeInstanceOf(JobCancelledError);
      await mq.process({ pluginName: 'p', queueName: 'q', jobName: 'idle' }, (job) => ran.push(job.data));
      const done = await mq.enqueue({ pluginName: 'p', queueName: 'q', jobName: 'idle', payload: 'x' });
      await mq.waitForJob(done.jobId, { timeoutMs: 10_000 });
      expect(ran).toEqual(['x']);
      expect((await mq.getJob(waiting.jobId))!.state).toBe('cancelled');
      expect((await mq.getJob(delayed.jobId))!.state).toBe('cancelled');
      expect(await mq.cancel({ jobId: done.jobId })).toEqual({ success: false, reason: 'completed' });
      expect(await mq.cancel({ jobId: 'p:-:nope' })).toEqual({ success: false, reason: 'not_found' });
    });

    it('cancel with abortActive aborts the handler on the node running it; the job ends cancelled, not retried', async () => {
      const worker = await startNode(cluster);
      const operator = await startNode(cluster, { worker: false });
      const started = deferred();
      await worker.managedQueue.process({ pluginName: 'p', queueName: 'q', jobName: 'long' }, async (job) => {
        started.resolve();
        await new Promise((resolve) => job.signal.addEventListener('abort', resolve, { once: true }));
        throw job.signal.reason;
      });
      const { jobId } = await operator.managedQueue.enqueue({
        pluginName: 'p',
        queueName: 'q',
        jobName: 'long',
        payload: null,
        attempts: 5,
      });
      await within(started.promise, 10_000, 'the start');
      expect(await operator.managedQueue.cancel({ jobId })).toEqual({ success: false, reason: 'active' });
      const result = operator.managedQueue.waitForJob(jobId, { timeoutMs: 10_000 }).catch((e: unknown) => e);
      expect(await operator.managedQueue.cancel({ jobId, abortActive: true })).toEqual({ success: true });
      expect(await result).toBeInstanceOf(JobCancelledError);
      const info = (await operator.managedQueue.getJob(jobId))!;
      expect(info).toMatchObject({ state: 'cancelled', attemptsMade: 1 });
      expect(info.history.map((h) => [h.node, h.outcome])).toEqual([[worker.nodeId, 'cancelled']]);
    });

    it('stop is bounded when a handler ignores its aborted signal (the stop path never waits for ever)', async () => {
      const app = cluster.node({ stopGracePeriodMs: 200, managedQueue: { ...FAST } });
      await app.start();
      const started = deferred();
      const aborted = deferred();
      const never = deferred();
      await app.managedQueue.process({ pluginName: 'p', queueName: 'q', jobName: 'stubborn' }, async (job) => {
        job.signal.addEventListener('abort', () => aborted.resolve(), { once: true });
        started.resolve();
        await never.promise; // ignores its signal
      });
      await app.managedQueue.enqueue({ pluginName: 'p', queueName: 'q', jobName: 'stubborn', payload: null });
      await within(started.promise, 10_000, 'the start');
      const began = performance.now();
      try {
        // Grace 200 ms, then the signal aborts; the handler never returns, so the node abandons it.
        await within(app.stop(), 5_000, 'app.stop() with a handler that ignores its signal');
        await within(aborted.promise, 1_000, 'the abort of the signal');
        expect(performance.now() - began).toBeGreaterThanOrEqual(150);
      } finally {
        never.resolve();
      }
    });

    it('a node that loses a job lock aborts its handler before the job runs again: never twice at once', async () => {
      const a = await startNode(cluster);
      const b = await startNode(cluster);
      let running = 0;
      let peak = 0;
      let started = false;
      const firstStart = deferred<string>();
      const firstAbort = deferred<unknown>();
      const handler = (app: App) => async (job: { id: string; signal: AbortSignal; attemptsMade: number }) => {
        running += 1;
        peak = Math.max(peak, running);
        try {
          if (started) return `done on ${app.nodeId}`;
          started = true;
          firstStart.resolve(app.nodeId);
          await new Promise((resolve) => job.signal.addEventListener('abort', resolve, { once: true }));
          firstAbort.resolve(job.signal.reason);
          throw job.signal.reason;
        } finally {
          running -= 1;
        }
      };
      await a.managedQueue.process({ pluginName: 'p', queueName: 'q', jobName: 'locked' }, handler(a));
      const { jobId } = await a.managedQueue.enqueue({
        pluginName: 'p',
        queueName: 'q',
        jobName: 'locked',
        payload: null,
      });
      const owner = await within(firstStart.promise, 10_000, 'the first start');
      await b.managedQueue.process({ pluginName: 'p', queueName: 'q', jobName: 'locked' }, handler(b));
      // The lock is lost (as when a node stalls past its lock duration): the owner's next extension fails.
      const [lock] = await scanNativeLocks(redis, cluster.name, { pluginName: 'p', queueName: 'q', jobName: 'locked' });
      expect(lock).toBeDefined();
      await redis.del(lock!);
      expect(await within(firstAbort.promise, 10_000, 'the owner abort')).toMatchObject({ code: 'LOCK_LOST' });
      const result = await a.managedQueue.waitForJob(jobId, { timeoutMs: 20_000 });
      expect(result).toMatch(/^done on /);
      expect(peak).toBe(1);
      const info = (await a.managedQueue.getJob(jobId))!;
      expect(info).toMatchObject({ state: 'completed', attemptsMade: 1 });
      expect(info.history[0]).toMatchObject({ node: owner, outcome: 'lost' });
      expect(info.history.at(-1)).toMatchObject({ outcome: 'completed' });
    });

    it("enforces a rate limit across nodes with BullMQ's limiter on the handler queue (the rest wait)", async () => {
      const nodes = [await startNode(cluster), await startNode(cluster)];
      const rateLimit = { max: 3, durationMs: 3_600_000 };
      let ran = 0;
      const three = counter(3);
      for (const node of nodes) {
        await node.managedQueue.process(
          { pluginName: 'p', queueName: 'q', jobName: 'rated', concurrency: 5, rateLimit },
          () => {
            ran += 1;
            three.hit();
          },
        );
      }
      const ids: string[] = [];
      for (let i = 0; i < 5; i += 1) {
        ids.push(
          (await nodes[1]!.managedQueue.enqueue({ pluginName: 'p', queueName: 'q', jobName: 'rated', payload: i }))
            .jobId,
        );
      }
      await within(three.done, 10_000, 'three jobs');
      // The limiter's window (an hour, from the first start) holds the other two back: they stay waiting.
      await vi.waitFor(async () => {
        const states = await Promise.all(ids.map(async (id) => (await nodes[0]!.managedQueue.getJob(id))!.state));
        expect(states.filter((state) => state === 'completed')).toHaveLength(3);
        expect(states.filter((state) => state === 'waiting')).toHaveLength(2);
      });
      expect(ran).toBe(3);
    });

    it('pauses and resumes a logical queue on every node, handler queues created while paused included', async () => {
      const worker = await startNode(cluster);
      const operator = await startNode(cluster, { worker: false });
      const ran: string[] = [];
      const lq = { pluginName: 'p', queueName: 'q' };
      await worker.managedQueue.process({ ...lq, jobName: 'a' }, (job) => void ran.push(job.data as string));
      await worker.managedQueue.process({ pluginName: 'p', queueName: 'marker', jobName: 'm' }, () => 'm');
      await operator.managedQueue.pause(lq);
      expect(await worker.managedQueue.isPaused(lq)).toBe(true);
      expect(await worker.managedQueue.isPaused({ pluginName: 'p', queueName: 'marker' })).toBe(false);
      // 'b' has neither jobs nor a handler yet: its queue is created by this enqueue, paused since its
      // logical queue is (its handler comes after).
      const a = await operator.managedQueue.enqueue({ ...lq, jobName: 'a', payload: 'a' });
      const b = await operator.managedQueue.enqueue({ ...lq, jobName: 'b', payload: 'b' });
      await worker.managedQueue.process({ ...lq, jobName: 'b' }, (job) => void ran.push(job.data as string));
      // A job of another logical queue runs meanwhile (the worker has gone past the paused ones).
      const m = await operator.managedQueue.enqueue({
        pluginName: 'p',
        queueName: 'marker',
        jobName: 'm',
        payload: null,
      });
      expect(await operator.managedQueue.waitForJob(m.jobId, { timeoutMs: 10_000 })).toBe('m');
      expect(ran).toEqual([]);
      expect((await operator.managedQueue.getJob(a.jobId))!.state).toBe('waiting');
      expect((await operator.managedQueue.getJob(b.jobId))!.state).toBe('waiting');
      await operator.managedQueue.resume(lq);
      expect(await worker.managedQueue.isPaused(lq)).toBe(false);
      await operator.managedQueue.waitForJob(a.jobId, { timeoutMs: 10_000 });
      await operator.managedQueue.waitForJob(b.jobId, { timeoutMs: 10_000 });
      expect(ran.sort()).toEqual(['a', 'b']);
    });

    it('removes a job that is not running, promotes a delayed one, retries a cancelled one', async () => {
      const app = await startNode(cluster);
      const mq = app.managedQueue;
      const gate = deferred();
      const started = deferred();
      await mq.process({ pluginName: 'p', queueName: 'q', jobName: 'j' }, async (job) => {
        if (job.data === 'held') {
          started.resolve();
          await gate.promise;
        }
        return job.data;
      });
      const held = await mq.enqueue({ pluginName: 'p', queueName: 'q', jobName: 'j', payload: 'held' });
      await within(started.promise, 10_000, 'the held job');
      expect(await mq.remove(held.jobId)).toEqual({ success: false, reason: 'active' });
      const later = await mq.enqueue({
        pluginName: 'p',
        queueName: 'q',
        jobName: 'later',
        payload: 'x',
        delayMs: 60_000,
      });
      const waited = mq.waitForJob(later.jobId, { timeoutMs: 10_000 }).catch((e: unknown) => e);
      expect(await mq.remove(later.jobId)).toEqual({ success: true });
      expect(await waited).toMatchObject({ code: 'NOT_FOUND' });
      expect(await mq.getJob(later.jobId)).toBeNull();
      expect(await mq.remove(later.jobId)).toEqual({ success: false, reason: 'not_found' });
      const soon = await mq.enqueue({
        pluginName: 'p',
        queueName: 'q',
        jobName: 'j',
        payload: 'soon',
        delayMs: 60_000,
      });
      expect(await mq.promote(held.jobId)).toEqual({ success: false, reason: 'active' });
      gate.resolve();
      expect(await mq.promote(soon.jobId)).toEqual({ success: true });
      expect(await mq.waitForJob(soon.jobId, { timeoutMs: 10_000 })).toBe('soon');
      expect(await mq.promote(soon.jobId)).toEqual({ success: false, reason: 'completed' });
      const cancelled = await mq.enqueue({
        pluginName: 'p',
        queueName: 'q',
        jobName: 'j',
        payload: 'again',
        delayMs: 60_000,
      });
      expect(await mq.cancel({ jobId: cancelled.jobId })).toEqual({ success: true });
      expect(await mq.retry(cancelled.jobId)).toEqual({ success: true });
      expect(await mq.waitForJob(cancelled.jobId, { timeoutMs: 10_000 })).toBe('again');
      expect(await mq.getJob(cancelled.jobId)).toMatchObject({ state: 'completed', attemptsMade: 1 });
      expect(await mq.retry(cancelled.jobId)).toEqual({ success: false, reason: 'completed' });
    });

    it('dedupes a caller jobId while its job exists, namespaced by plugin and tenant', async () => {
      const app = await startNode(cluster, { worker: false });
      const mq = app.managedQueue;
      const input = { pluginName: 'p', queueName: 'q', jobName: 'j', payload: 1, jobId: 'order:42' };
      const first = await runWithTenant({ tenantId: 'a' }, () => mq.enqueue(input));
      const again = await runWithTenant({ tenantId: 'a' }, () => mq.enqueue({ ...input, payload: 2 }));
      const other = await runWithTenant({ tenantId: 'b' }, () => mq.enqueue(input));
      expect(first.jobId).toBe('p:a:order:42');
      expect(again.jobId).toBe(first.jobId);
      expect(other.jobId).toBe('p:b:order:42');
      await vi.waitFor(async () => expect((await mq.getJob(first.jobId))!.payload).toBe(1));
      expect(await mq.getJob(other.jobId)).toMatchObject({ tenantId: 'b', state: 'waiting' });
    });
  });
}

/** The lock keys BullMQ holds for running jobs (SCAN, never KEYS). */
