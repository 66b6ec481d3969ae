/**
 * Managed jobs, the basics: what enqueue accepts and refuses, the one physical queue and its
 * envelope, handlers with their tenant context, decorators, transactions, job ids and retries.
 */
import {
  ClusterError,
  currentTenant,
  PluginJobProcessor,
  runWithTenant,
  type ManagedJobContext,
  type ManagedQueueJob,
  JobFailedError,
} from 'clusterkit';
import { afterEach, beforeEach, describe, expect, vi } from 'vitest';
import type { ClusterFactory, TestCluster } from '../conformance/cluster.js';
import { deferred, within } from '../helpers.js';
import { casesFor, startNode } from './jobs-helpers.js';

const P = 'shop';
const Q = 'mail';

export function basicsSuite(factory: ClusterFactory): void {
  describe(`managed jobs basics (${factory.label})`, () => {
    const it = casesFor(factory);
    let cluster: TestCluster;
    beforeEach(() => {
      cluster = factory.create();
    });
    afterEach(async () => {
      await cluster.dispose();
    });

    it('refuses bad input at the call with a coded error', async () => {
      const app = await startNode(cluster, { worker: false });
      const mq = app.managedQueue;
      const base = { pluginName: P, queueName: Q, jobName: 'j', payload: {} };
      const code = (p: Promise<unknown>) =>
        p.then(
          () => 'resolved',
          (e: ClusterError) => e.code,
        );
      expect(await code(mq.enqueue({ ...base, pluginName: undefined as unknown as string }))).toBe('INVALID_NAME');
      expect(await code(mq.enqueue({ ...base, jobName: '' }))).toBe('INVALID_NAME');
      expect(await code(mq.enqueue({ ...base, payload: { f: () => 1 } }))).toBe('INVALID_PAYLOAD');
      expect(await code(mq.enqueue({ ...base, attempts: 0 }))).toBe('INVALID_OPTION');
      expect(await code(mq.enqueue({ ...base, delayMs: -1 }))).toBe('INVALID_OPTION');
      expect(await code(mq.enqueue({ ...base, colour: 'red' } as never))).toBe('UNKNOWN_OPTION');
      const { payload: _omitted, ...noPayload } = base;
      expect(await code(mq.enqueue(noPayload as never))).toBe('INVALID_ARGUMENT');
      expect(await code(mq.enqueue(base, { transaction: {} as never }))).toBe('INVALID_OPTION');
      const idle = cluster.node();
      expect(await code(idle.managedQueue.enqueue(base))).toBe('NOT_CONNECTED');
    });

    it('carries every logical job on one physical queue inside a versioned envelope without the payload', async () => {
      const producer = await startNode(cluster, { worker: false });
      expect(producer.managedQueue.physicalQueueName).toBe(`${producer.name}:managed-queue%3Aplugin-jobs`);
      const seen: unknown[] = [];
      const got = deferred();
      // A raw event-queue subscriber on the physical channel sees exactly what travels on the wire.
      const spy = cluster.node({ managedQueue: { worker: false } });
      await spy.eventQueue.subscribe('managed-queue:plugin-jobs', {
        concurrency: 4,
        process(message) {
          seen.push(message);
          if (seen.length === 2) got.resolve();
        },
      });
      await spy.start();
      await runWithTenant({ tenantId: 't1', organizationId: 'o1', userId: 'u1' }, () =>
        producer.managedQueue.enqueue({
          pluginName: 'a',
          queueName: 'q',
          jobName: 'x',
          payload: { secret: 1 },
          scopeKey: 'int-7',
        }),
      );
      await producer.managedQueue.enqueue({ pluginName: 'b', queueName: 'r', jobName: 'y', payload: 2 });
      await within(got.promise, 10_000, 'two tickets');
      const byPlugin = Object.fromEntries(seen.map((m) => [(m as { pluginName: string }).pluginName, m]));
      expect(byPlugin.a).toMatchObject({
        v: 1,
        kind: 'clusterkit.managed-job',
        pluginName: 'a',
        queueName: 'q',
        jobName: 'x',
        tenantId: 't1',
        organizationId: 'o1',
        userId: 'u1',
        scopeKey: 'int-7',
        gen: 0,
      });
      expect(typeof (byPlugin.a as { enqueuedAt: number }).enqueuedAt).toBe('number');
      expect(byPlugin.a).not.toHaveProperty('payload');
      expect(byPlugin.b).toMatchObject({ pluginName: 'b', queueName: 'r', jobName: 'y' });
    });

    it('dead-letters a malformed message on the physical queue and keeps working', async () => {
      const app = await startNode(cluster);
      await app.managedQueue.process({ pluginName: P, queueName: Q, jobName: 'fine' }, () => 'fine');
      await app.eventQueue.publish('managed-queue:plugin-jobs', { hello: 'not a ticket' });
      await vi.waitFor(
        async () => expect(await app.eventQueue.listDeadLetters('managed-queue:plugin-jobs')).toHaveLength(1),
        {
          timeout: 10_000,
        },
      );
      const [letter] = await app.eventQueue.listDeadLetters('managed-queue:plugin-jobs');
      expect(letter!.error.message).toMatch(/malformed managed-job envelope/);
      const { jobId } = await app.managedQueue.enqueue({ pluginName: P, queueName: Q, jobName: 'fine', payload: null });
      expect(await app.managedQueue.waitForJob(jobId, { timeoutMs: 10_000 })).toBe('fine');
    });

    it('runs a handler inside the job tenant context and resolves waitForJob on another node', async () => {
      const worker = await startNode(cluster);
      const producer = await startNode(cluster, { worker: false });
      const seen = deferred<{ ctx: ManagedJobContext; tenant: unknown; job: ManagedQueueJob }>();
      await worker.managedQueue.process({ pluginName: P, queueName: Q, jobName: 'welcome' }, async (job, ctx) => {
        await Promise.resolve();
        seen.resolve({ ctx, tenant: currentTenant(), job });
        return { sent: job.data.to };
      });
      const { jobId } = await runWithTenant({ tenantId: 'acme', organizationId: 'eu', userId: 'u9' }, () =>
        producer.managedQueue.enqueue({
          pluginName: P,
          queueName: Q,
          jobName: 'welcome',
          payload: { to: 'x@y' },
          scopeKey: 's1',
        }),
      );
      await expect(producer.managedQueue.waitForJob(jobId, { timeoutMs: 10_000 })).resolves.toEqual({ sent: 'x@y' });
      const { ctx, tenant, job } = await seen.promise;
      expect(ctx).toEqual({
        pluginName: P,
        queueName: Q,
        jobName: 'welcome',
        tenantId: 'acme',
        organizationId: 'eu',
        scopeKey: 's1',
        userId: 'u9',
      });
      expect(tenant).toEqual({ tenantId: 'acme', organizationId: 'eu', userId: 'u9' });
      expect(job).toMatchObject({ id: jobId, name: 'welcome', data: { to: 'x@y' }, attemptsMade: 0 });
      const info = await producer.managedQueue.getJob(jobId);
      expect(info).toMatchObject({
        id: jobId,
        state: 'completed',
        returnValue: { sent: 'x@y' },
        pluginName: P,
        tenantId: 'acme',
        // As BullMQ counts: attempts finished, the successful one included.
        attemptsMade: 1,
      });
      expect(info!.timestamps.finishedAt).toBeGreaterThanOrEqual(info!.timestamps.startedAt!);
      await expect(producer.managedQueue.waitForJob(jobId, { timeoutMs: 1_000 })).resolves.toEqual({ sent: 'x@y' });
    });

    it('waitForJob on a node that did not run the job hears its end while it runs (not only at its deadline)', async () => {
      const worker = await startNode(cluster);
      const waiter = await startNode(cluster, { worker: false });
      const gate = deferred();
      const running = deferred();
      await worker.managedQueue.process({ pluginName: P, queueName: Q, jobName: 'gated' }, async () => {
        running.resolve();
        await gate.promise;
        return 'opened';
      });
      const { jobId } = await worker.managedQueue.enqueue({
        pluginName: P,
        queueName: Q,
        jobName: 'gated',
        payload: 1,
      });
      await within(running.promise, 10_000, 'the job start');
      // The waiter has registered its interest and read the record (still active) before the end.
      const read = deferred();
      const store = waiter.managedQueue.jobStore;
      const get = store.get.bind(store);
      store.get = async (id: string) => {
        const record = await get(id);
        if (id === jobId) read.resolve();
        return record;
      };
      const waited = waiter.managedQueue.waitForJob(jobId, { timeoutMs: 60_000 });
      await within(read.promise, 10_000, 'the waiter reading the record');
      const openedAt = Date.now();
      gate.resolve();
      await expect(within(waited, 10_000, 'the announced end')).resolves.toBe('opened');
      expect(Date.now() - openedAt).toBeLessThan(10_000);
    });

    it('waitForJob that starts after the job ended (nobody waited: no announcement) resolves from the record', async () => {
      const worker = await startNode(cluster);
      const other = await startNode(cluster, { worker: false });
      const ended = deferred();
      worker.managedQueue.on('job:completed', () => ended.resolve());
      await worker.managedQueue.process({ pluginName: P, queueName: Q, jobName: 'quick' }, () => 'done');
      const { jobId } = await worker.managedQueue.enqueue({
        pluginName: P,
        queueName: Q,
        jobName: 'quick',
        payload: 1,
      });
      await within(ended.promise, 10_000, 'the job end');
      await expect(other.managedQueue.waitForJob(jobId, { timeoutMs: 1_000 })).resolves.toBe('done');
      await expect(worker.managedQueue.waitForJob(jobId, { timeoutMs: 1_000 })).resolves.toBe('done');
    });

    it('dispatches a class with stacked @PluginJobProcessor declarations on job.name', async () => {
      const app = await startNode(cluster);
      const calls: string[] = [];
      class MailProcessor {
        prefix = 'mail';
        async handle(job: ManagedQueueJob<number>) {
          calls.push(`${this.prefix}:${job.name}`);
          return job.data * 2;
        }
      }
      // Applied as a function (the runner cannot parse decorator syntax); decorators.test.ts compiles
      // the real `@` syntax in both the standard and the experimentalDecorators flavour.
      PluginJobProcessor({ pluginName: P, queueName: Q, jobName: 'digest' })(MailProcessor);
      PluginJobProcessor({ pluginName: P, queueName: Q, jobName: 'welcome', concurrency: 2 })(MailProcessor);
      const processor = new MailProcessor();
      await app.managedQueue.registerProcessor(processor);
      await expect(app.managedQueue.registerProcessor(processor)).rejects.toMatchObject({ code: 'ALREADY_SUBSCRIBED' });
      const a = await app.managedQueue.enqueue({ pluginName: P, queueName: Q, jobName: 'welcome', payload: 1 });
      const b = await app.managedQueue.enqueue({ pluginName: P, queueName: Q, jobName: 'digest', payload: 5 });
      expect(await app.managedQueue.waitForJob(a.jobId, { timeoutMs: 10_000 })).toBe(2);
      expect(await app.managedQueue.waitForJob(b.jobId, { timeoutMs: 10_000 })).toBe(10);
      expect(calls.sort()).toEqual(['mail:digest', 'mail:welcome']);
      await app.managedQueue.unregisterProcessor(processor);
      // Once unregistered the same declarations can be registered again.
      await app.managedQueue.registerProcessor(new MailProcessor());
      await expect(app.managedQueue.registerProcessor({})).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    });

    it('restores the tenant for everything a handler calls: a child job it enqueues inherits the tenant', async () => {
      const app = await startNode(cluster);
      const child = deferred<{ tenant: unknown; ctx: ManagedJobContext }>();
      await app.managedQueue.process({ pluginName: P, queueName: Q, jobName: 'parent' }, async () => {
        await new Promise((resolve) => setImmediate(resolve));
        const { jobId } = await app.managedQueue.enqueue({
          pluginName: P,
          queueName: Q,
          jobName: 'child',
          payload: null,
        });
        return jobId;
      });
      await app.managedQueue.process({ pluginName: P, queueName: Q, jobName: 'child' }, (_job, ctx) => {
        child.resolve({ tenant: currentTenant(), ctx });
      });
      const parent = await runWithTenant({ tenantId: 'globex', organizationId: 'hq' }, () =>
        app.managedQueue.enqueue({ pluginName: P, queueName: Q, jobName: 'parent', payload: null }),
      );
      const childId = (await app.managedQueue.waitForJob(parent.jobId, { timeoutMs: 10_000 })) as string;
      const seen = await within(child.promise, 10_000, 'child job');
      expect(seen.tenant).toEqual({ tenantId: 'globex', organizationId: 'hq' });
      expect(seen.ctx).toMatchObject({ tenantId: 'globex', organizationId: 'hq' });
      expect(await app.managedQueue.getJob(childId)).toMatchObject({ tenantId: 'globex', organizationId: 'hq' });
      // A job enqueued outside any tenant runs outside any tenant.
      const platform = deferred<unknown>();
      await app.managedQueue.process({ pluginName: P, queueName: Q, jobName: 'platform' }, () => {
        platform.resolve(currentTenant());
      });
      await app.managedQueue.enqueue({ pluginName: P, queueName: Q, jobName: 'platform', payload: null });
      expect(await within(platform.promise, 10_000, 'platform job')).toBeUndefined();
    });

    it('holds a transactional enqueue until commit and drops it on rollback', async () => {
      const app = await startNode(cluster);
      await app.managedQueue.process({ pluginName: P, queueName: Q, jobName: 'tx' }, (job) => job.data);
      let commit: (() => unknown) | undefined;
      const committed = { afterCommit: (cb: () => unknown) => void (commit = cb) };
      const { jobId } = await app.managedQueue.enqueue(
        { pluginName: P, queueName: Q, jobName: 'tx', payload: 'yes' },
        { transaction: committed },
      );
      expect(await app.managedQueue.getJob(jobId)).toBeNull();
      // Committing runs the hook and waits for it, as Sequelize's commit() does: the job exists once
      // the hook has resolved (not before; on a store with several connections a read issued while
      // the hook still writes may miss it).
      await commit!();
      await expect(app.managedQueue.waitForJob(jobId, { timeoutMs: 10_000 })).resolves.toBe('yes');
      const rolledBack = { afterCommit: () => undefined };
      const dropped = await app.managedQueue.enqueue(
        { pluginName: P, queueName: Q, jobName: 'tx', payload: 'no' },
        { transaction: rolledBack },
      );
      expect(await app.managedQueue.getJob(dropped.jobId)).toBeNull();
    });

    it('namespaces caller job ids by plugin and tenant and deduplicates within one tenant', async () => {
      const app = await startNode(cluster, { worker: false });
      const mq = app.managedQueue;
      const input = { pluginName: P, queueName: Q, jobName: 'sync', payload: 1, jobId: 'order:42:sync' };
      const first = await runWithTenant({ tenantId: 'a' }, () => mq.enqueue(input));
      const again = await runWithTenant({ tenantId: 'a' }, () => mq.enqueue({ ...input, payload: 2 }));
      const otherTenant = await runWithTenant({ tenantId: 'b' }, () => mq.enqueue(input));
      const otherPlugin = await runWithTenant({ tenantId: 'a' }, () => mq.enqueue({ ...input, pluginName: 'crm' }));
      expect(again.jobId).toBe(first.jobId);
      expect(new Set([first.jobId, otherTenant.jobId, otherPlugin.jobId]).size).toBe(3);
      expect(first.jobId.endsWith(':order:42:sync')).toBe(true);
      expect((await mq.getJob(first.jobId))!.payload).toBe(1);
      expect(await mq.getJob(otherTenant.jobId)).toMatchObject({ tenantId: 'b', payload: 1 });
      expect(await mq.getMetrics({ pluginName: P })).toMatchObject({ waiting: 2 });
    });

    it('retries with backoff, records the failure, and retry() runs a failed job again', async () => {
      const app = await startNode(cluster);
      let failUntil = 2;
      let calls = 0;
      const failures: boolean[] = [];
      app.managedQueue.on('job:failed', (_info, _error, meta) => failures.push(meta.willRetry));
      await app.managedQueue.process({ pluginName: P, queueName: Q, jobName: 'flaky' }, (job) => {
        calls += 1;
        if (job.attemptsMade < failUntil) throw new Error(`boom ${job.attemptsMade}`);
        return 'ok';
      });
      const ok = await app.managedQueue.enqueue({
        pluginName: P,
        queueName: Q,
        jobName: 'flaky',
        payload: null,
        attempts: 3,
        backoffMs: 10,
      });
      await expect(app.managedQueue.waitForJob(ok.jobId, { timeoutMs: 10_000 })).resolves.toBe('ok');
      expect(await app.managedQueue.getJob(ok.jobId)).toMatchObject({
        state: 'completed',
        attemptsMade: 3,
        maxAttempts: 3,
      });
      expect(failures).toEqual([true, true]);
      failUntil = 100;
      const bad = await app.managedQueue.enqueue({
        pluginName: P,
        queueName: Q,
        jobName: 'flaky',
        payload: null,
        attempts: 2,
        backoffMs: { type: 'exponential', delay: 5 },
      });
      const failed = await app.managedQueue.waitForJob(bad.jobId, { timeoutMs: 10_000 }).catch((e: unknown) => e);
      expect(failed).toBeInstanceOf(JobFailedError);
      expect((failed as Error).message).toBe('boom 1');
      const info = await app.managedQueue.getJob(bad.jobId);
      expect(info).toMatchObject({ state: 'failed', attemptsMade: 2, failedReason: 'boom 1' });
      expect(info!.stacktrace!.length).toBeGreaterThan(0);
      failUntil = 0;
      expect(await app.managedQueue.retry(bad.jobId)).toEqual({ success: true });
      expect(await app.managedQueue.retry(bad.jobId)).toMatchObject({ success: false });
      await expect(app.managedQueue.waitForJob(bad.jobId, { timeoutMs: 10_000 })).resolves.toBe('ok');
      expect(await app.managedQueue.retry('no-such-job')).toEqual({ success: false, reason: 'not_found' });
      expect(calls).toBe(3 + 2 + 1);
    });

    it('reports active, progress, completed and failed events with durations', async () => {
      const app = await startNode(cluster);
      const events: string[] = [];
      const done = deferred<number>();
      app.managedQueue.on('job:active', (info) => events.push(`active:${info.jobName}`));
      app.managedQueue.on('job:progress', (info, progress) =>
        events.push(`progress:${info.jobName}:${JSON.stringify(progress)}`),
      );
      app.managedQueue.on('job:completed', (info, meta) => {
        events.push(`completed:${info.jobName}`);
        done.resolve(meta.durationMs);
      });
      await app.managedQueue.process({ pluginName: P, queueName: Q, jobName: 'report' }, async (job) => {
        await job.progress(50);
        expect((await app.managedQueue.getJob(job.id))!.progress).toBe(50);
        await job.progress({ step: 'done' });
      });
      await app.managedQueue.enqueue({ pluginName: P, queueName: Q, jobName: 'report', payload: null });
      expect(await within(done.promise, 10_000, 'completed event')).toBeGreaterThanOrEqual(0);
      expect(events).toEqual([
        'active:report',
        'progress:report:50',
        'progress:report:{"step":"done"}',
        'completed:report',
      ]);
    });
  });
}
