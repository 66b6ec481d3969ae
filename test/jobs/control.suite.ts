/**
 * Managed jobs, operator and plugin control: cancel (waiting, delayed, active), tenant visibility,
 * metrics and listing with paging, pause/resume per logical queue, clean, waitForJob timeouts.
 */
import { JobCancelledError, runWithTenant, type App } from 'clusterkit';
import { afterEach, beforeEach, describe, expect, vi } from 'vitest';
import type { ClusterFactory, TestCluster } from '../conformance/cluster.js';
import { deferred, within } from '../helpers.js';
import { casesFor, startNode } from './jobs-helpers.js';

const P = 'crm';
const Q = 'sync';

export function controlSuite(factory: ClusterFactory): void {
  describe(`managed jobs control (${factory.label})`, () => {
    const it = casesFor(factory);
    let cluster: TestCluster;
    beforeEach(() => {
      cluster = factory.create();
    });
    afterEach(async () => {
      await cluster.dispose();
    });

    /** Enqueues a job and waits for it to complete: a marker that the worker has gone past earlier tickets. */
    async function marker(app: App, delayMs = 0): Promise<void> {
      const { jobId } = await app.managedQueue.enqueue({
        pluginName: P,
        queueName: 'marker',
        jobName: 'mark',
        payload: null,
        delayMs,
      });
      await app.managedQueue.waitForJob(jobId, { timeoutMs: 10_000 });
    }

    it('cancels waiting and delayed jobs so they never run, and reports why others cannot be cancelled', async () => {
      const app = await startNode(cluster);
      const ran: string[] = [];
      await app.managedQueue.process({ pluginName: P, queueName: Q, jobName: 'j' }, (job) => {
        ran.push(job.data as string);
        if (job.data === 'fail') throw new Error('nope');
        return job.data;
      });
      const delayed = await app.managedQueue.enqueue({
        pluginName: P,
        queueName: Q,
        jobName: 'j',
        payload: 'delayed',
        delayMs: 300,
      });
      const waitingResult = app.managedQueue.waitForJob(delayed.jobId, { timeoutMs: 10_000 }).catch((e: unknown) => e);
      expect(await app.managedQueue.cancel({ jobId: delayed.jobId })).toEqual({ success: true });
      expect(await waitingResult).toBeInstanceOf(JobCancelledError);
      expect((await app.managedQueue.getJob(delayed.jobId))!.state).toBe('cancelled');
      // Wait until the cancelled job's ticket has come due and been consumed (dropped): the physical queue is empty.
      await vi.waitFor(
        async () =>
          expect(await app.eventQueue.counts('managed-queue:plugin-jobs')).toMatchObject({
            waiting: 0,
            delayed: 0,
            active: 0,
          }),
        { timeout: 10_000, interval: 50 },
      );
      expect(ran).toEqual([]);
      const later = await app.managedQueue.enqueue({
        pluginName: P,
        queueName: Q,
        jobName: 'j',
        payload: 'later',
        delayMs: 60_000,
      });
      expect((await app.managedQueue.getJob(later.jobId))!.state).toBe('delayed');
      expect(await app.managedQueue.cancel({ jobId: later.jobId })).toEqual({ success: true });

      const done = await app.managedQueue.enqueue({ pluginName: P, queueName: Q, jobName: 'j', payload: 'done' });
      await app.managedQueue.waitForJob(done.jobId, { timeoutMs: 10_000 });
      expect(await app.managedQueue.cancel({ jobId: done.jobId })).toEqual({ success: false, reason: 'completed' });
      const failed = await app.managedQueue.enqueue({ pluginName: P, queueName: Q, jobName: 'j', payload: 'fail' });
      await app.managedQueue.waitForJob(failed.jobId, { timeoutMs: 10_000 }).catch(() => undefined);
      expect(await app.managedQueue.cancel({ jobId: failed.jobId })).toEqual({ success: false, reason: 'failed' });
      expect(await app.managedQueue.cancel({ jobId: 'missing' })).toEqual({ success: false, reason: 'not_found' });
    });

    it('refuses to cancel an active job unless abortActive, which aborts its signal', async () => {
      const worker = await startNode(cluster);
      const operator = await startNode(cluster, { worker: false });
      const started = deferred();
      const aborted = deferred<unknown>();
      await worker.managedQueue.process({ pluginName: P, queueName: Q, jobName: 'long' }, async (job) => {
        started.resolve();
        await new Promise<void>((resolve) => job.signal.addEventListener('abort', () => resolve(), { once: true }));
        aborted.resolve(job.signal.reason);
        throw job.signal.reason;
      });
      const { jobId } = await operator.managedQueue.enqueue({
        pluginName: P,
        queueName: Q,
        jobName: 'long',
        payload: null,
        attempts: 3,
      });
      await within(started.promise, 10_000, 'job start');
      await vi.waitFor(async () => expect((await operator.managedQueue.getJob(jobId))!.state).toBe('active'), {
        timeout: 10_000,
      });
      expect(await operator.managedQueue.cancel({ jobId })).toEqual({ success: false, reason: 'active' });
      const result = operator.managedQueue.waitForJob(jobId, { timeoutMs: 10_000 }).catch((e: unknown) => e);
      expect(await operator.managedQueue.cancel({ jobId, abortActive: true })).toEqual({ success: true });
      expect(await within(aborted.promise, 10_000, 'abort')).toBeInstanceOf(JobCancelledError);
      expect(await result).toBeInstanceOf(JobCancelledError);
      // A cancelled job is not retried, whatever attempts remain.
      expect(await operator.managedQueue.getJob(jobId)).toMatchObject({ state: 'cancelled', attemptsMade: 1 });
    });

    it("every attempt's history entry carries its failure's message and code, as failedCode does", async () => {
      const app = await startNode(cluster);
      const started = deferred();
      const handler = { pluginName: P, queueName: Q };
      await app.managedQueue.process({ ...handler, jobName: 'coded' }, (job) => {
        // A code on a plain Error (a plugin's own), then none: each attempt keeps its own.
        if (job.attemptsMade === 0) throw Object.assign(new Error('coded "one"\n'), { code: 'PLUGIN_DOWN' });
        throw new Error(`plain ${job.attemptsMade + 1}`);
      });
      // A BigInt is not a JSON value: the return value fails the attempt with INVALID_PAYLOAD.
      await app.managedQueue.process({ ...handler, jobName: 'bad-return' }, () => ({ f: 1n }));
      await app.managedQueue.process({ ...handler, jobName: 'cancelled' }, async (job) => {
        started.resolve();
        await new Promise<void>((resolve) => job.signal.addEventListener('abort', () => resolve(), { once: true }));
        throw job.signal.reason;
      });
      const enqueue = (jobName: string, attempts: number, backoffMs = 10) =>
        app.managedQueue.enqueue({ ...handler, jobName, payload: null, attempts, backoffMs });
      // Retried with and without a backoff (BullMQ: moveToDelayed, retryJob).
      const coded = await enqueue('coded', 7, 0);
      const backedOff = await enqueue('coded', 2);
      const badReturn = await enqueue('bad-return', 3);
      const cancelled = await enqueue('cancelled', 3);
      await within(started.promise, 10_000, 'job start');
      await vi.waitFor(async () => expect((await app.managedQueue.getJob(cancelled.jobId))!.state).toBe('active'), {
        timeout: 10_000,
      });
      expect(await app.managedQueue.cancel({ jobId: cancelled.jobId, abortActive: true })).toEqual({ success: true });
      const ends: [string, ...unknown[]][] = [];
      for (const { jobId } of [coded, backedOff, badReturn, cancelled]) {
        await app.managedQueue.waitForJob(jobId, { timeoutMs: 10_000 }).catch(() => {});
        const info = (await app.managedQueue.getJob(jobId))!;
        ends.push([info.state, info.attemptsMade, info.failedCode]);
        for (const h of info.history) {
          expect(h.node).toBe(app.nodeId);
          expect(h.finishedAt).toBeGreaterThanOrEqual(h.startedAt);
          // A failed attempt keeps its stack (the error's own), the latest five only; a cancelled one none.
          if (h.error?.stack !== undefined) expect(h.error.stack).toContain(h.error.message.split('\n')[0]);
          ends.push([h.outcome!, h.attempt, h.error?.message, h.error?.code, h.error?.stack !== undefined]);
        }
      }
      const invalid = (await app.managedQueue.getJob(badReturn.jobId))!.failedReason;
      expect(invalid).toMatch(/^job return value: /);
      expect(ends).toEqual([
        ['failed', 7, undefined],
        ['failed', 1, 'coded "one"\n', 'PLUGIN_DOWN', false],
        ['failed', 2, 'plain 2', undefined, false],
        ...[3, 4, 5, 6, 7].map((n) => ['failed', n, `plain ${n}`, undefined, true]),
        ['failed', 2, undefined],
        ['failed', 1, 'coded "one"\n', 'PLUGIN_DOWN', true],
        ['failed', 2, 'plain 2', undefined, true],
        // Not retried: INVALID_PAYLOAD is permanent.
        ['failed', 1, 'INVALID_PAYLOAD'],
        ['failed', 1, invalid, 'INVALID_PAYLOAD', true],
        ['cancelled', 1, 'JOB_CANCELLED'],
        ['cancelled', 1, `job ${cancelled.jobId} was cancelled`, 'JOB_CANCELLED', false],
      ]);
    });

    it('shows a tenant only its own jobs, and everything outside any tenant context', async () => {
      const app = await startNode(cluster, { worker: false });
      const mq = app.managedQueue;
      const enqueue = (tenantId: string, n: number) =>
        runWithTenant({ tenantId }, async () => {
          const ids: string[] = [];
          for (let i = 0; i < n; i += 1)
            ids.push((await mq.enqueue({ pluginName: P, queueName: Q, jobName: 'j', payload: i })).jobId);
          return ids;
        });
      const a = await enqueue('tenant-a', 5);
      const b = await enqueue('tenant-b', 3);
      await mq.enqueue({ pluginName: P, queueName: Q, jobName: 'j', payload: 'platform', delayMs: 60_000 });
      expect(await mq.getMetrics()).toEqual({ waiting: 8, active: 0, completed: 0, failed: 0, delayed: 1 });
      expect(await mq.getMetrics({ tenantId: 'tenant-b' })).toMatchObject({ waiting: 3 });
      await runWithTenant({ tenantId: 'tenant-a' }, async () => {
        expect(await mq.getMetrics()).toMatchObject({ waiting: 5, delayed: 0 });
        expect(await mq.getJob(b[0]!)).toBeNull();
        expect(await mq.cancel({ jobId: b[0]! })).toEqual({ success: false, reason: 'not_found' });
        expect(await mq.retry(b[0]!)).toEqual({ success: false, reason: 'not_found' });
        await expect(mq.waitForJob(b[0]!, { timeoutMs: 1_000 })).rejects.toMatchObject({ code: 'NOT_FOUND' });
        await expect(mq.getMetrics({ tenantId: 'tenant-b' })).rejects.toMatchObject({ code: 'TENANT_MISMATCH' });
        await expect(mq.listJobs({ tenantId: 'tenant-b' })).rejects.toMatchObject({ code: 'TENANT_MISMATCH' });
        await expect(
          mq.enqueue({ pluginName: P, queueName: Q, jobName: 'j', payload: 1, tenantId: 'tenant-b' }),
        ).rejects.toMatchObject({
          code: 'TENANT_MISMATCH',
        });
        const page1 = await mq.listJobs({ state: 'waiting', limit: 2 });
        const page3 = await mq.listJobs({ state: 'waiting', limit: 2, offset: 4 });
        expect(page1.total).toBe(5);
        expect(page1.jobs).toHaveLength(2);
        expect(page3.jobs).toHaveLength(1);
        const all = [...page1.jobs, ...(await mq.listJobs({ limit: 2, offset: 2 })).jobs, ...page3.jobs].map(
          (j) => j.id,
        );
        expect(new Set(all)).toEqual(new Set(a));
      });
      expect((await mq.listJobs({ pluginName: P })).total).toBe(9);
      expect((await mq.listJobs({ state: 'delayed' })).jobs.map((j) => j.payload)).toEqual(['platform']);
      expect(await mq.getJob(b[0]!)).toMatchObject({ tenantId: 'tenant-b' });
    });

    it('pauses and resumes a logical queue on every node', async () => {
      const worker = await startNode(cluster);
      const operator = await startNode(cluster, { worker: false });
      const ran: number[] = [];
      await worker.managedQueue.process({ pluginName: P, queueName: 'marker', jobName: 'mark' }, () => undefined);
      await worker.managedQueue.process(
        { pluginName: P, queueName: Q, jobName: 'j' },
        (job) => void ran.push(job.data as number),
      );
      await operator.managedQueue.pause({ pluginName: P, queueName: Q });
      expect(await worker.managedQueue.isPaused({ pluginName: P, queueName: Q })).toBe(true);
      const { jobId } = await operator.managedQueue.enqueue({ pluginName: P, queueName: Q, jobName: 'j', payload: 1 });
      await marker(operator); // another logical queue still runs
      expect(ran).toEqual([]);
      expect((await operator.managedQueue.getJob(jobId))!.state).toBe('waiting');
      const stats = await operator.managedQueue.getQueueStats();
      expect(stats.find((s) => s.queueName === Q)).toMatchObject({ pluginName: P, waiting: 1, paused: true });
      expect(stats.find((s) => s.queueName === 'marker')).toMatchObject({ completed: 1, paused: false });
      await operator.managedQueue.resume({ pluginName: P, queueName: Q });
      await operator.managedQueue.waitForJob(jobId, { timeoutMs: 10_000 });
      expect(ran).toEqual([1]);
    });

    it('cleans finished jobs and times out waitForJob with a coded error', async () => {
      const app = await startNode(cluster);
      await app.managedQueue.process({ pluginName: P, queueName: Q, jobName: 'j' }, () => 'ok');
      const ids: string[] = [];
      for (let i = 0; i < 3; i += 1)
        ids.push((await app.managedQueue.enqueue({ pluginName: P, queueName: Q, jobName: 'j', payload: i })).jobId);
      for (const id of ids) await app.managedQueue.waitForJob(id, { timeoutMs: 10_000 });
      expect(await app.managedQueue.clean({ state: 'completed', olderThanMs: 3_600_000 })).toBe(0);
      expect(await app.managedQueue.clean({ state: 'completed', olderThanMs: 0, limit: 2 })).toBe(2);
      expect(await app.managedQueue.clean({ state: 'completed', olderThanMs: 0 })).toBe(1);
      expect((await app.managedQueue.getMetrics()).completed).toBe(0);
      await expect(app.managedQueue.clean({ state: 'waiting' as never, olderThanMs: 0 })).rejects.toMatchObject({
        code: 'INVALID_OPTION',
      });
      const later = await app.managedQueue.enqueue({
        pluginName: P,
        queueName: Q,
        jobName: 'j',
        payload: 9,
        delayMs: 60_000,
      });
      await expect(app.managedQueue.waitForJob(later.jobId, { timeoutMs: 50 })).rejects.toMatchObject({
        code: 'WAIT_TIMEOUT',
      });
    });

    it('removes finished records when asked (removeOnComplete / removeOnFail)', async () => {
      const app = await startNode(cluster);
      await app.managedQueue.process({ pluginName: P, queueName: Q, jobName: 'j' }, (job) => {
        if (job.data === 'fail') throw new Error('x');
        return 'kept-in-event';
      });
      // Paused while the waiters subscribe, so the records cannot vanish before the waits begin.
      await app.managedQueue.pause({ pluginName: P, queueName: Q });
      const ok = await app.managedQueue.enqueue({
        pluginName: P,
        queueName: Q,
        jobName: 'j',
        payload: 'ok',
        removeOnComplete: true,
      });
      const bad = await app.managedQueue.enqueue({
        pluginName: P,
        queueName: Q,
        jobName: 'j',
        payload: 'fail',
        removeOnFail: true,
      });
      const okResult = app.managedQueue.waitForJob(ok.jobId, { timeoutMs: 10_000 });
      const badResult = app.managedQueue.waitForJob(bad.jobId, { timeoutMs: 10_000 }).catch((e: Error) => e);
      await vi.waitFor(async () => expect((await app.managedQueue.getJob(ok.jobId))!.state).toBe('waiting'));
      await app.managedQueue.resume({ pluginName: P, queueName: Q });
      expect(await okResult).toBe('kept-in-event');
      expect(((await badResult) as Error).message).toBe('x');
      expect(await app.managedQueue.getJob(ok.jobId)).toBeNull();
      expect(await app.managedQueue.getJob(bad.jobId)).toBeNull();
    });
  });
}
