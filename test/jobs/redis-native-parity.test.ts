/**
 * The native managed-job engine (Redis's default) on what it shares with the
 * default engine since this wave: schedules (issue 13 defects 5 and 6 — a tenant's schedule id is
 * namespaced, a tick whose enqueue fails runs later — and a tick re-fired after a crash between its
 * enqueue and its mark finds its job, waiting or completed: one run), transactional enqueue
 * (afterCommit: commit, rollback, a failed add reported) and a failed job's `failedCode`.
 * The shared suites' schedule and transaction cases run on native from redis-native.test.ts.
 */
import { ClusterError, runWithTenant, type App } from 'clusterkit';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { TestCluster } from '../conformance/cluster.js';
import { onNativeRedis } from './native-redis.js';
import { deferred, within } from '../helpers.js';
import { startNode } from './jobs-helpers.js';

/** The engine behind `app.managedQueue` (private; to make its add fail, as a broker hiccup would). */
function engineOf(app: App): { add(record: { id: string }): Promise<string> } {
  return (app.managedQueue as unknown as { jobs: { engine: { add(record: { id: string }): Promise<string> } } }).jobs
    .engine;
}

/** Makes `app`'s engine reject adds for which `fail(id)` is true (and count every add by id). */
function failAdds(app: App, fail: (id: string) => boolean): Map<string, number> {
  const engine = engineOf(app);
  const original = engine.add.bind(engine);
  const adds = new Map<string, number>();
  engine.add = (record) => {
    adds.set(record.id, (adds.get(record.id) ?? 0) + 1);
    return fail(record.id) ? Promise.reject(new Error('broker hiccup')) : original(record);
  };
  return adds;
}

await onNativeRedis(
  'native engine parity',
  (factory) => {
    describe('native engine: schedules, transactions, failedCode (redis-native)', () => {
      let cluster: TestCluster;
      beforeEach(() => {
        cluster = factory.create();
      });
      afterEach(async () => {
        await cluster.dispose();
      });

      it("#5 a tenant's schedule id is namespaced: another tenant using the same id cannot replace it", async () => {
        const app = await startNode(cluster, { schedules: false });
        const base = { pluginName: 'p', queueName: 'q', jobName: 'nightly', everyMs: 3_600_000, scheduleId: 'nightly' };
        const a = await runWithTenant({ tenantId: 'A' }, () => app.managedQueue.schedule({ ...base, payload: 'A' }));
        const b = await runWithTenant({ tenantId: 'B' }, () => app.managedQueue.schedule({ ...base, payload: 'B' }));
        expect(a.scheduleId).not.toBe(b.scheduleId);
        const ofA = await runWithTenant({ tenantId: 'A' }, () => app.managedQueue.listSchedules());
        expect(ofA.map((s) => s.payload)).toEqual(['A']);
        expect(ofA[0]!.nextRunAt).toBeGreaterThan(Date.now());
        expect(await runWithTenant({ tenantId: 'B' }, () => app.managedQueue.removeSchedule(a.scheduleId))).toBe(false);
        await expect(
          runWithTenant({ tenantId: 'A' }, () => app.managedQueue.schedule({ ...base, payload: 'x', tenantId: 'B' })),
        ).rejects.toMatchObject({ code: 'TENANT_MISMATCH' });
        expect(await app.managedQueue.listSchedules()).toHaveLength(2);
      });

      it('#6 a schedule tick whose enqueue fails is run later, not skipped', async () => {
        const app = await startNode(cluster);
        const ran = new Set<string>();
        await app.managedQueue.process({ pluginName: 'p', queueName: 'cron', jobName: 'tick' }, (job) => {
          ran.add(job.id);
        });
        let failures = 0;
        const failedTick = deferred<string>();
        failAdds(app, (id) => {
          if (failures > 0) return false;
          failures += 1;
          failedTick.resolve(id);
          return true;
        });
        await app.managedQueue.schedule({
          pluginName: 'p',
          queueName: 'cron',
          jobName: 'tick',
          everyMs: 1_000,
          payload: 1,
        });
        const tickJob = await within(failedTick.promise, 10_000, 'first tick');
        await vi.waitFor(() => expect(ran.has(tickJob)).toBe(true), { timeout: 10_000 });
      });

      it('a tick re-fired after a crash between its enqueue and its mark finds its job (waiting, then completed): one run', async () => {
        const app = await startNode(cluster);
        const runs: string[] = [];
        const completed = deferred<string>();
        const h = { pluginName: 'p', queueName: 'cron', jobName: 'once' };
        await app.managedQueue.process({ ...h, concurrency: 1 }, (job) => {
          runs.push(job.id);
          if (job.data === 'tick') completed.resolve(job.id);
          return job.data;
        });
        const adds = failAdds(app, () => false);
        // The tick is not marked (as if the node died right after the add) until its job has completed
        // and the tick was fired once more after that.
        const store = app.managedQueue.jobStore;
        const markTick = store.markTick.bind(store);
        let done = false;
        let refiredAfterCompletion = false;
        const marked = deferred();
        store.markTick = async (scheduleId, tick) => {
          if (!done) throw new Error('crash before markTick');
          if (!refiredAfterCompletion) {
            refiredAfterCompletion = true;
            throw new Error('crash before markTick, once more after the job completed');
          }
          const result = await markTick(scheduleId, tick);
          marked.resolve();
          return result;
        };
        await app.managedQueue.schedule({ ...h, everyMs: 3_000, payload: 'tick' });
        const tickJob = await within(completed.promise, 15_000, 'tick job');
        await vi.waitFor(async () => expect((await app.managedQueue.getJob(tickJob))!.state).toBe('completed'));
        done = true;
        await within(marked.promise, 10_000, 'tick marked');
        // Every fire of the tick added the same job id; BullMQ's add deduplicated it.
        expect(adds.get(tickJob)).toBeGreaterThanOrEqual(3);
        expect((await app.managedQueue.getJob(tickJob))!.state).toBe('completed');
        // A duplicate would have been queued before this job (concurrency 1, FIFO): it runs after any.
        const sentinel = await app.managedQueue.enqueue({ ...h, payload: 'sentinel' });
        expect(await app.managedQueue.waitForJob(sentinel.jobId, { timeoutMs: 10_000 })).toBe('sentinel');
        expect(runs.filter((id) => id === tickJob)).toHaveLength(1);
      });

      it('transactional enqueue: the job is added at commit (known id, there once commit returns), never on rollback', async () => {
        const app = await startNode(cluster);
        const h = { pluginName: 'p', queueName: 'q', jobName: 'tx' };
        await app.managedQueue.process(h, (job) => job.data);
        let commit: (() => unknown) | undefined;
        const { jobId } = await runWithTenant({ tenantId: 'acme' }, () =>
          app.managedQueue.enqueue(
            { ...h, payload: 'yes' },
            { transaction: { afterCommit: (cb: () => unknown) => void (commit = cb) } },
          ),
        );
        expect(jobId).toMatch(/^p:acme:/);
        expect(await app.managedQueue.getJob(jobId)).toBeNull();
        await commit!();
        expect(await app.managedQueue.getJob(jobId)).toMatchObject({ tenantId: 'acme', payload: 'yes' });
        expect(await app.managedQueue.waitForJob(jobId, { timeoutMs: 10_000 })).toBe('yes');
        // A caller's jobId is kept (namespaced as always) and deduplicated at commit.
        let commitTwice: (() => unknown) | undefined;
        const named = await app.managedQueue.enqueue(
          { ...h, payload: 'named', jobId: 'order-1' },
          { transaction: { afterCommit: (cb: () => unknown) => void (commitTwice = cb) } },
        );
        expect(named.jobId).toBe('p:-:order-1');
        await commitTwice!();
        expect(await app.managedQueue.waitForJob(named.jobId, { timeoutMs: 10_000 })).toBe('named');
        // Rolled back: the hook never runs, no job.
        const dropped = await app.managedQueue.enqueue(
          { ...h, payload: 'no' },
          { transaction: { afterCommit: () => {} } },
        );
        expect(await app.managedQueue.getJob(dropped.jobId)).toBeNull();
        // A transaction the engine cannot write in: today's errors.
        await expect(
          app.managedQueue.enqueue({ ...h, payload: 1 }, { transaction: {} as never }),
        ).rejects.toMatchObject({
          code: 'INVALID_OPTION',
        });
        await expect(
          app.managedQueue.enqueue({ ...h, payload: 1 }, { transaction: { query: () => undefined } as never }),
        ).rejects.toMatchObject({ code: 'NOT_SUPPORTED' });
      });

      it('transactional enqueue: an add that fails after commit is reported, and commit still returns', async () => {
        const app = await startNode(cluster);
        const reported = deferred<Record<string, unknown>>();
        app.on('error', (error: Error, meta: Record<string, unknown>) => {
          if (error.message === 'broker hiccup') reported.resolve(meta);
        });
        failAdds(app, () => true);
        let commit: (() => unknown) | undefined;
        const { jobId } = await app.managedQueue.enqueue(
          { pluginName: 'p', queueName: 'q', jobName: 'tx', payload: 1 },
          { transaction: { afterCommit: (cb: () => unknown) => void (commit = cb) } },
        );
        await expect(Promise.resolve(commit!())).resolves.toBeUndefined();
        expect(await within(reported.promise, 5_000, 'reported add failure')).toMatchObject({
          source: 'managedQueue.enqueue',
          jobId,
        });
        expect(await app.managedQueue.getJob(jobId)).toBeNull();
      });

      it("keeps a failed job's code (failedCode, waitForJob's error code) and clears it when a later failure has none", async () => {
        const app = await startNode(cluster);
        const h = { pluginName: 'p', queueName: 'q', jobName: 'coded' };
        const events: Error[] = [];
        app.managedQueue.on('job:failed', (_job, error) => events.push(error));
        await app.managedQueue.process(h, (job) => {
          const data = job.data as { codes: (string | null)[]; final?: boolean };
          const code = data.codes[job.attemptsMade];
          const error = Object.assign(new Error(`attempt ${job.attemptsMade + 1} fails`), code ? { code } : {});
          if (data.final) throw Object.assign(error, { retryable: false });
          throw error;
        });
        // Retryable failures, the last one coded.
        const a = await app.managedQueue.enqueue({
          ...h,
          payload: { codes: [null, 'PAYMENT_DECLINED'] },
          attempts: 2,
          backoffMs: 1,
        });
        await expect(app.managedQueue.waitForJob(a.jobId, { timeoutMs: 10_000 })).rejects.toMatchObject({
          name: 'JobFailedError',
          code: 'PAYMENT_DECLINED',
          message: 'attempt 2 fails',
        });
        const infoA = (await app.managedQueue.getJob(a.jobId))!;
        expect(infoA).toMatchObject({
          state: 'failed',
          failedCode: 'PAYMENT_DECLINED',
          failedReason: 'attempt 2 fails',
        });
        for (const stack of infoA.stacktrace ?? []) expect(stack).not.toMatch(/ck-code/);
        expect(infoA.stacktrace?.at(-1)).toMatch(/^Error: attempt 2 fails/);
        // An unrecoverable coded failure (not retried).
        const b = await app.managedQueue.enqueue({ ...h, payload: { codes: ['NOPE'], final: true }, attempts: 3 });
        await expect(app.managedQueue.waitForJob(b.jobId, { timeoutMs: 10_000 })).rejects.toMatchObject({
          code: 'NOPE',
        });
        expect(await app.managedQueue.getJob(b.jobId)).toMatchObject({
          state: 'failed',
          attemptsMade: 1,
          failedCode: 'NOPE',
        });
        // A coded failure, then a last one without a code: no code.
        const c = await app.managedQueue.enqueue({
          ...h,
          payload: { codes: ['FIRST', null] },
          attempts: 2,
          backoffMs: 1,
        });
        const error = await app.managedQueue.waitForJob(c.jobId, { timeoutMs: 10_000 }).catch((e: unknown) => e);
        expect((error as { code?: string }).code).toBeUndefined();
        expect((await app.managedQueue.getJob(c.jobId))!.failedCode).toBeUndefined();
        // The job:failed events carry the handler's own errors (with their codes).
        await vi.waitFor(() => expect(events).toHaveLength(5));
        expect(events.map((e) => (e as { code?: string }).code)).toEqual(
          expect.arrayContaining(['PAYMENT_DECLINED', 'NOPE', 'FIRST']),
        );
        expect(events.every((e) => !(e instanceof ClusterError) && !/ck-code/.test(e.stack ?? ''))).toBe(true);
      });
    });
  },
  { label: 'redis-native-parity' },
);
