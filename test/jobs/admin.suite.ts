/**
 * Managed jobs, operator calls the dashboard uses: `remove` (never a running job; a removed waiting
 * or delayed job never runs), `promote` (a delayed job runs now, once, its old ticket dropped, even
 * if the promoting node dies before publishing), `listNodes` (live nodes and their handlers), and
 * what `getJob` shows (options, owner, every attempt with its error and stack, logs).
 */
import { runWithTenant, type App } from 'clusterkit';
import { afterEach, beforeEach, describe, expect, vi } from 'vitest';
import type { ClusterFactory, TestCluster } from '../conformance/cluster.js';
import { deferred, within } from '../helpers.js';
import { casesFor, startNode } from './jobs-helpers.js';

const P = 'ops';
const Q = 'admin';
const PHYSICAL = 'managed-queue:plugin-jobs';

export function adminSuite(factory: ClusterFactory): void {
  describe(`managed jobs admin (${factory.label})`, () => {
    const it = casesFor(factory);
    let cluster: TestCluster;
    beforeEach(() => {
      cluster = factory.create();
    });
    afterEach(async () => {
      await cluster.dispose();
    });

    const drained = (app: App) =>
      vi.waitFor(
        async () => expect(await app.eventQueue.counts(PHYSICAL)).toMatchObject({ waiting: 0, delayed: 0, active: 0 }),
        { timeout: 15_000, interval: 50 },
      );

    it('removes finished, waiting and delayed jobs (they never run), refuses a running one', async () => {
      const app = await startNode(cluster);
      const ran: string[] = [];
      const release = deferred();
      const started = deferred();
      await app.managedQueue.process({ pluginName: P, queueName: Q, jobName: 'j', concurrency: 2 }, async (job) => {
        ran.push(job.data as string);
        if (job.data === 'slow') {
          started.resolve();
          await release.promise;
        }
        return job.data;
      });
      const enqueue = (payload: string, delayMs = 0) =>
        app.managedQueue.enqueue({ pluginName: P, queueName: Q, jobName: 'j', payload, delayMs, tenantId: 't1' });

      const done = await enqueue('done');
      await app.managedQueue.waitForJob(done.jobId, { timeoutMs: 10_000 });
      expect(await app.managedQueue.remove(done.jobId)).toEqual({ success: true });
      expect(await app.managedQueue.getJob(done.jobId)).toBeNull();

      const delayed = await enqueue('delayed', 400);
      expect(await runWithTenant({ tenantId: 't2' }, () => app.managedQueue.remove(delayed.jobId))).toEqual({
        success: false,
        reason: 'not_found',
      });
      expect(await app.managedQueue.remove(delayed.jobId)).toEqual({ success: true });
      expect(await app.managedQueue.getJob(delayed.jobId)).toBeNull();

      const slow = await enqueue('slow');
      await started.promise;
      expect(await app.managedQueue.remove(slow.jobId)).toEqual({ success: false, reason: 'active' });
      release.resolve();
      await app.managedQueue.waitForJob(slow.jobId, { timeoutMs: 10_000 });
      // The removed delayed job's ticket came due and was dropped: it never ran.
      await drained(app);
      expect(ran.sort()).toEqual(['done', 'slow']);
      expect(await app.managedQueue.remove('no-such-job')).toEqual({ success: false, reason: 'not_found' });
    });

    it('waitForJob on any node stops waiting when the job is removed before it runs', async () => {
      const [a, b] = await Promise.all([startNode(cluster), startNode(cluster)]);
      const { jobId } = await a.managedQueue.enqueue({
        pluginName: P,
        queueName: Q,
        jobName: 'never',
        payload: 1,
        delayMs: 60_000,
        tenantId: 't1',
      });
      const waits = [a, b].map((app) =>
        app.managedQueue.waitForJob(jobId, { timeoutMs: 30_000 }).then(
          () => 'resolved',
          (error: { code?: string; message?: string }) => `${error.code}: ${error.message}`,
        ),
      );
      expect(await a.managedQueue.remove(jobId)).toEqual({ success: true });
      // Long before the 30 s timeout: the removal is announced to every node's waiters.
      const outcomes = await within(Promise.all(waits), 10_000, 'waiters of a removed job');
      expect(outcomes).toEqual([`NOT_FOUND: job ${jobId} was removed`, `NOT_FOUND: job ${jobId} was removed`]);
    });

    it('promotes a delayed job: it runs now, once, with its attempts kept; others say why not', async () => {
      const app = await startNode(cluster);
      const ran: string[] = [];
      await app.managedQueue.process({ pluginName: P, queueName: Q, jobName: 'j' }, (job) => {
        ran.push(job.data as string);
        return job.data;
      });
      const { jobId } = await app.managedQueue.enqueue({
        pluginName: P,
        queueName: Q,
        jobName: 'j',
        payload: 'later',
        delayMs: 1_500,
        attempts: 3,
      });
      const before = (await app.managedQueue.getJob(jobId))!;
      expect(before.state).toBe('delayed');
      expect(before.timestamps.runAt).toBeGreaterThan(Date.now());
      const promotedAt = Date.now();
      expect(await app.managedQueue.promote(jobId)).toEqual({ success: true });
      expect(await app.managedQueue.waitForJob(jobId, { timeoutMs: 10_000 })).toBe('later');
      const after = (await app.managedQueue.getJob(jobId))!;
      expect(after.timestamps.startedAt! - promotedAt).toBeLessThan(1_500);
      expect(after).toMatchObject({ maxAttempts: 3, attemptsMade: 1, attemptsStarted: 1 });
      // The original delayed ticket comes due later and is dropped: the job ran exactly once.
      await vi.waitFor(() => expect(Date.now()).toBeGreaterThan(before.timestamps.runAt! + 100), { timeout: 5_000 });
      await drained(app);
      expect(ran).toEqual(['later']);
      expect(await app.managedQueue.promote(jobId)).toEqual({ success: false, reason: 'completed' });
      expect(await app.managedQueue.promote('no-such-job')).toEqual({ success: false, reason: 'not_found' });
    });

    it('a node that dies between promote and its ticket leaves a job the reconciler runs, once', async () => {
      const app = await startNode(cluster);
      const ran: string[] = [];
      await app.managedQueue.process({ pluginName: P, queueName: Q, jobName: 'j' }, (job) => {
        ran.push(job.data as string);
        return job.data;
      });
      const { jobId } = await app.managedQueue.enqueue({
        pluginName: P,
        queueName: Q,
        jobName: 'j',
        payload: 'survivor',
        delayMs: 60_000,
      });
      // What promote leaves when its node dies after its one store step: the next generation, waiting,
      // "ticket pending" — and no ticket. The delayed ticket (an hour away) names the old generation.
      const promoted = await app.managedQueue.jobStore.promote(jobId, { now: Date.now() });
      expect(promoted.type).toBe('promoted');
      expect(await app.managedQueue.waitForJob(jobId, { timeoutMs: 15_000 })).toBe('survivor');
      expect(ran).toEqual(['survivor']);
      expect((await app.managedQueue.getJob(jobId))!.history).toHaveLength(1);
    });

    it('keeps every attempt with its node, times, error and stack after a retry succeeds', async () => {
      const app = await startNode(cluster);
      let calls = 0;
      await app.managedQueue.process({ pluginName: P, queueName: Q, jobName: 'flaky' }, async (job) => {
        calls += 1;
        await job.log(`try ${calls}`);
        if (calls <= 6) throw Object.assign(new Error(`try ${calls} fails`), { code: 'FLAKY' });
        return 'finally';
      });
      const { jobId } = await app.managedQueue.enqueue({
        pluginName: P,
        queueName: Q,
        jobName: 'flaky',
        payload: null,
        attempts: 7,
        backoffMs: 10,
      });
      expect(await app.managedQueue.waitForJob(jobId, { timeoutMs: 15_000 })).toBe('finally');
      const info = (await app.managedQueue.getJob(jobId))!;
      expect(info).toMatchObject({ state: 'completed', attemptsMade: 7, attemptsStarted: 7 });
      expect(info.history.map((h) => [h.attempt, h.outcome, h.error?.message, h.error?.code])).toEqual([
        ...[1, 2, 3, 4, 5, 6].map((n) => [n, 'failed', `try ${n} fails`, 'FLAKY']),
        [7, 'completed', undefined, undefined],
      ]);
      for (const h of info.history) {
        expect(h.node).toBe(app.nodeId);
        expect(h.finishedAt).toBeGreaterThanOrEqual(h.startedAt);
      }
      // The stacks of the latest five failed attempts are kept (bounded), the older ones' are dropped.
      expect(info.history.map((h) => h.error?.stack !== undefined)).toEqual([
        false,
        true,
        true,
        true,
        true,
        true,
        false,
      ]);
      expect(info.history[5]!.error!.stack).toContain('try 6 fails');
      expect(info.history[5]!.error!.stack).toContain('admin.suite');
      expect(info.logs).toEqual(['try 1', 'try 2', 'try 3', 'try 4', 'try 5', 'try 6', 'try 7']);
    });

    it('getJob shows every option, when the job is due and which node runs it', async () => {
      const app = await startNode(cluster);
      const started = deferred();
      const release = deferred();
      await app.managedQueue.process({ pluginName: P, queueName: Q, jobName: 'j' }, async () => {
        started.resolve();
        await release.promise;
      });
      const delayed = await app.managedQueue.enqueue({
        pluginName: P,
        queueName: Q,
        jobName: 'j',
        payload: null,
        delayMs: 60_000,
        attempts: 4,
        backoffMs: { type: 'exponential', delay: 500 },
        priority: 1,
        removeOnComplete: 3_600_000,
        removeOnFail: true,
      });
      const info = (await app.managedQueue.getJob(delayed.jobId))!;
      expect(info).toMatchObject({
        state: 'delayed',
        maxAttempts: 4,
        priority: 1,
        options: {
          attempts: 4,
          delayMs: 60_000,
          priority: 1,
          backoff: { type: 'exponential', delay: 500 },
          removeOnComplete: 3_600_000,
          removeOnFail: true,
        },
      });
      expect(info.timestamps.runAt! - info.timestamps.enqueuedAt).toBe(60_000);
      const now = await app.managedQueue.enqueue({ pluginName: P, queueName: Q, jobName: 'j', payload: null });
      await started.promise;
      const running = (await app.managedQueue.getJob(now.jobId))!;
      expect(running.owner).toBe(app.nodeId);
      // An active job still says when it was due (the wait before it started).
      expect(running.timestamps.runAt).toBeLessThanOrEqual(running.timestamps.startedAt!);
      release.resolve();
      await app.managedQueue.waitForJob(now.jobId, { timeoutMs: 10_000 });
      const finished = (await app.managedQueue.getJob(now.jobId))!;
      expect(finished.owner).toBeUndefined();
      expect(finished.timestamps.runAt).toBeUndefined();
      await app.managedQueue.cancel({ jobId: delayed.jobId });
    });

    it('lists live nodes with the handlers they run; a stopped node leaves the list', async () => {
      const worker = await startNode(cluster);
      await worker.managedQueue.process({ pluginName: P, queueName: Q, jobName: 'a', concurrency: 3 }, () => null);
      const producer = await startNode(cluster, { worker: false });
      await vi.waitFor(
        async () => {
          const nodes = await producer.managedQueue.listNodes();
          const mine = nodes.filter((n) => n.nodeId === worker.nodeId || n.nodeId === producer.nodeId);
          expect(mine).toHaveLength(2);
          expect(mine.find((n) => n.nodeId === worker.nodeId)).toMatchObject({
            worker: true,
            handlers: [{ pluginName: P, queueName: Q, jobName: 'a', concurrency: 3, running: 0 }],
          });
          expect(mine.find((n) => n.nodeId === producer.nodeId)).toMatchObject({ worker: false, handlers: [] });
        },
        { timeout: 10_000, interval: 50 },
      );
      await worker.stop();
      const ids = (await producer.managedQueue.listNodes()).map((n) => n.nodeId);
      expect(ids).not.toContain(worker.nodeId);
      expect(ids).toContain(producer.nodeId);
    });
  });
}
