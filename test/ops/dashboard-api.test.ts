/**
 * The dashboard's JSON API on memory and on Redis: jobs by state with paging, job detail with
 * redaction, retry/cancel/retry-all/pause/resume/clean, dead letters and schedules — everything
 * the page shows and does.
 */
import { describe, expect, it, vi } from 'vitest';
import { createJobStatsRecorder } from 'clusterkit/ops';
import { backends, useDashboardFixture } from './dashboard-fixture.js';

for (const backend of await backends()) {
  describe(`dashboard JSON API on ${backend.name}`, () => {
    const f = useDashboardFixture(backend);
    const { get, post, enqueue, waitForState } = f;

    describe('JSON API', () => {
      it('lists jobs by state with paging, and shows a job with redacted payload, failure and timestamps', async () => {
        const ids: string[] = [];
        for (let i = 0; i < 5; i++)
          ids.push((await enqueue({ contact: { email: `p${i}@acme.test`, password: 'pw' } })).jobId);
        for (const id of ids) await waitForState(id, 'completed');
        const page1 = (await (await get('api/jobs?state=completed&limit=2&offset=0&plugin=crm')).json()) as {
          jobs: unknown[];
          total: number;
        };
        const page3 = (await (await get('api/jobs?state=completed&limit=2&offset=4&plugin=crm')).json()) as {
          jobs: unknown[];
          total: number;
        };
        expect(page1.total).toBe(5);
        expect(page1.jobs).toHaveLength(2);
        expect(page3.jobs).toHaveLength(1);

        const { jobId } = await enqueue({
          contact: { email: 'bad@acme.test', password: 'hunter2', nested: [{ Token: 'abc' }] },
          fail: true,
        });
        await waitForState(jobId, 'failed');
        const job = (await (await get(`api/jobs/${encodeURIComponent(jobId)}`)).json()) as Record<string, any>;
        expect(job).toMatchObject({
          id: jobId,
          state: 'failed',
          tenantId: 'acme',
          attemptsMade: 1,
          failedReason: 'crm rejected bad@acme.test',
          payload: {
            contact: { email: 'bad@acme.test', password: '[redacted]', nested: [{ Token: '[redacted]' }] },
            fail: true,
          },
        });
        expect(job.stacktrace.join('\n')).toContain('crm rejected');
        expect(job.timestamps.enqueuedAt).toBeTypeOf('number');
        expect(job.timestamps.finishedAt).toBeTypeOf('number');

        // Retry from the API completes it once the cause is fixed; the return value is redacted too.
        f.fixed = true;
        try {
          expect(await (await post(`api/jobs/${encodeURIComponent(jobId)}/retry`)).json()).toEqual({ success: true });
          await waitForState(jobId, 'completed');
        } finally {
          f.fixed = false;
        }
        const done = (await (await get(`api/jobs/${encodeURIComponent(jobId)}`)).json()) as Record<string, any>;
        expect(done.returnValue).toEqual({ pushed: 'bad@acme.test', apiToken: '[redacted]' });
      });

      it('404 for an unknown job, 400 for a bad state or page size, 405 for a wrong method', async () => {
        expect((await get('api/jobs/nope')).status).toBe(404);
        expect((await get('api/jobs?state=sleeping')).status).toBe(400);
        expect((await get('api/jobs?limit=0')).status).toBe(400);
        expect((await get('api/jobs/x/retry')).status).toBe(405);
        expect((await get('api/unknown')).status).toBe(404);
      });

      it('cancels a delayed job, retries all failed, pauses and resumes a queue, cleans old jobs', async () => {
        const { jobId: delayed } = await enqueue({ contact: { email: 'later@acme.test' } }, { delayMs: 3_600_000 });
        expect(await (await post(`api/jobs/${encodeURIComponent(delayed)}/cancel`)).json()).toEqual({ success: true });
        expect((await f.app.managedQueue.getJob(delayed))?.state).toBe('cancelled');

        const failing = [
          await enqueue({ contact: { email: 'f1@acme.test' }, fail: true }),
          await enqueue({ contact: { email: 'f2@acme.test' }, fail: true }),
        ];
        for (const { jobId } of failing) await waitForState(jobId, 'failed');
        f.fixed = true;
        try {
          expect(await (await post('api/jobs/retry-failed', { pluginName: 'crm' })).json()).toEqual({ retried: 2 });
          for (const { jobId } of failing) await waitForState(jobId, 'completed');
        } finally {
          f.fixed = false;
        }

        expect(await (await post('api/queues/pause', { pluginName: 'crm', queueName: 'sync' })).json()).toEqual({
          pluginName: 'crm',
          queueName: 'sync',
          paused: true,
        });
        const overview = (await (await get('api/overview')).json()) as {
          queues: { paused: boolean }[];
          physical: { channel: string }[];
        };
        expect(overview.queues.every((q) => q.paused)).toBe(true);
        expect(overview.physical.map((p) => p.channel)).toEqual(['webhooks']);
        expect(
          (await (await post('api/queues/resume', { pluginName: 'crm', queueName: 'sync' })).json()) as object,
        ).toMatchObject({ paused: false });

        const completed = (await f.app.managedQueue.getMetrics()).completed;
        expect(completed).toBeGreaterThan(0);
        expect(await (await post('api/clean', { state: 'completed', olderThan: '0s' })).json()).toEqual({
          removed: completed,
        });
        expect((await post('api/clean', { state: 'active', olderThan: '1d' })).status).toBe(400);
      });

      it('lists and redrives dead letters, lists and removes schedules', async () => {
        await f.app.eventQueue.publish('webhooks', { url: 'https://example.test/hook', secret: 'shh' });
        await vi.waitFor(async () => expect((await f.app.eventQueue.counts('webhooks')).dead).toBe(1), {
          timeout: 10_000,
          interval: 20,
        });
        const dead = (await (await get('api/dead-letters')).json()) as {
          channel: string;
          deadLetters: { id: string; message: unknown; error: { message: string } }[];
        };
        expect(dead.channel).toBe('webhooks');
        expect(dead.deadLetters).toHaveLength(1);
        expect(dead.deadLetters[0]).toMatchObject({
          message: { url: 'https://example.test/hook', secret: '[redacted]' },
          error: { message: 'endpoint 503' },
        });
        expect(
          await (
            await post('api/dead-letters/redrive', { channel: 'webhooks', ids: [dead.deadLetters[0]!.id] })
          ).json(),
        ).toEqual({
          channel: 'webhooks',
          count: 1,
        });
        await vi.waitFor(async () => expect((await f.app.eventQueue.counts('webhooks')).dead).toBe(1), {
          timeout: 10_000,
          interval: 20,
        });
        expect(await (await post('api/dead-letters/delete', { channel: 'webhooks' })).json()).toEqual({
          channel: 'webhooks',
          count: 1,
        });

        const { scheduleId } = await f.app.managedQueue.schedule({
          pluginName: 'crm',
          queueName: 'sync',
          jobName: 'push',
          everyMs: 86_400_000,
          tenantId: 'acme',
          payload: { contact: { email: 'daily@acme.test' } },
        });
        const listed = (await (await get('api/schedules')).json()) as { schedules: { scheduleId: string }[] };
        expect(listed.schedules.map((s) => s.scheduleId)).toContain(scheduleId);
        expect(await (await post(`api/schedules/${encodeURIComponent(scheduleId)}/remove`)).json()).toEqual({
          removed: true,
        });
        expect(await f.app.managedQueue.listSchedules()).toEqual([]);
      });
    });

    describe('job browser API', () => {
      type Page = { jobs: { id: string; pluginName: string; tenantId?: string }[]; total: number };
      const list = async (query: string) => (await (await get(`api/jobs?${query}`)).json()) as Page;

      it('filters by prefix of plugin, queue and tenant, pages, and finds jobs by caller or namespaced id', async () => {
        const later = { delayMs: 3_600_000 };
        const made = [
          await enqueue({ n: 1 }, { ...later, jobId: 'order-1' }),
          await enqueue({ n: 2 }, { ...later, jobId: 'order-1', tenantId: 'globex' }),
          await enqueue({ n: 3 }, { ...later, jobId: 'order-2', tenantId: 'acme-eu' }),
          await enqueue({ n: 4 }, { ...later, pluginName: 'mail', queueName: 'outbox', jobName: 'send' }),
        ].map((r) => r.jobId);
        try {
          expect((await list('state=delayed&plugin=cr')).total).toBe(3);
          expect((await list('state=delayed&plugin=m&queue=out')).jobs.map((j) => j.id)).toEqual([made[3]]);
          // "acme" is a prefix of two tenants: both match.
          const acme = await list('state=delayed&tenant=acme');
          expect(acme.jobs.map((j) => j.tenantId).sort()).toEqual(['acme', 'acme', 'acme-eu']);
          const second = await list('state=delayed&tenant=acme&limit=1&offset=1');
          expect(second.total).toBe(3);
          expect(second.jobs).toHaveLength(1);
          expect((await list('state=delayed&plugin=nothing-like-it')).total).toBe(0);

          const search = async (q: string) =>
            ((await (await get(`api/search?q=${encodeURIComponent(q)}`)).json()) as Page).jobs.map((j) => j.id).sort();
          expect(await search('order-1')).toEqual([made[0], made[1]].sort());
          expect(await search(made[1]!)).toEqual([made[1]]);
          expect(
            ((await (await get('api/search?q=order-1&tenant=glob')).json()) as Page).jobs.map((j) => j.id),
          ).toEqual([made[1]]);
          expect(await search('no-such-order')).toEqual([]);
          expect((await get('api/search?q=')).status).toBe(400);
        } finally {
          for (const id of made) await f.app.managedQueue.cancel({ jobId: id });
          await f.app.managedQueue.clean({ state: 'cancelled', olderThanMs: 0 });
        }
      });

      it('removes and promotes one job, promotes every delayed job, and deletes one dead letter', async () => {
        const { jobId: one } = await enqueue({ contact: { email: 'one@acme.test' } }, { delayMs: 3_600_000 });
        expect(await (await post(`api/jobs/${encodeURIComponent(one)}/promote`)).json()).toEqual({ success: true });
        await waitForState(one, 'completed');
        expect(await (await post(`api/jobs/${encodeURIComponent(one)}/promote`)).json()).toEqual({
          success: false,
          reason: 'completed',
        });
        expect(await (await post(`api/jobs/${encodeURIComponent(one)}/remove`)).json()).toEqual({ success: true });
        expect((await get(`api/jobs/${encodeURIComponent(one)}`)).status).toBe(404);

        const many = [
          await enqueue({ contact: { email: 'a@acme.test' } }, { delayMs: 3_600_000 }),
          await enqueue({ contact: { email: 'b@acme.test' } }, { delayMs: 3_600_000 }),
        ];
        expect(await (await post('api/jobs/promote-delayed', { pluginName: 'cr' })).json()).toEqual({ promoted: 2 });
        for (const { jobId } of many) await waitForState(jobId, 'completed');

        for (const n of [1, 2]) await f.app.eventQueue.publish('webhooks', { n });
        await vi.waitFor(async () => expect((await f.app.eventQueue.counts('webhooks')).dead).toBe(2), {
          timeout: 10_000,
          interval: 20,
        });
        const dead = (await (await get('api/dead-letters?channel=webhooks')).json()) as {
          deadLetters: { id: string; error: { stack?: string } }[];
        };
        expect(dead.deadLetters[0]!.error.stack).toContain('endpoint 503');
        expect(
          await (await post('api/dead-letters/delete', { channel: 'webhooks', ids: [dead.deadLetters[0]!.id] })).json(),
        ).toEqual({ channel: 'webhooks', count: 1 });
        expect((await f.app.eventQueue.counts('webhooks')).dead).toBe(1);
        await f.app.eventQueue.deleteDeadLetters('webhooks');
      });

      it('shows live nodes with their handlers, and throughput and run times from the recorded statistics', async () => {
        const overview = (await (await get('api/overview')).json()) as {
          nodes: { nodeId: string; worker: boolean; handlers: { pluginName: string }[] }[];
        };
        expect(overview.nodes.find((n) => n.nodeId === f.app.nodeId)).toMatchObject({
          worker: true,
          handlers: [{ pluginName: 'crm', queueName: 'sync', jobName: 'push', concurrency: 4 }],
        });
        const { jobId } = await enqueue({ contact: { email: 'stats@acme.test' } });
        await waitForState(jobId, 'completed');
        // The dashboard records this node's jobs; flush its recorder (shared per app) instead of waiting 5 s.
        const recorder = createJobStatsRecorder(f.app);
        await recorder.flush();
        await recorder.close();
        const stats = (await (await get('api/stats?minutes=10')).json()) as {
          minutes: number[];
          totals: { completed: number[] };
          queues: { pluginName: string; completed: number; run: { p50: number } | null; wait: object | null }[];
        };
        expect(stats.minutes).toHaveLength(10);
        const crm = stats.queues.find((q) => q.pluginName === 'crm')!;
        expect(crm.completed).toBeGreaterThan(0);
        expect(crm.run?.p50).toBeGreaterThanOrEqual(0);
        expect(crm.wait).not.toBeNull();
        expect(stats.totals.completed.reduce((a, b) => a + b, 0)).toBe(crm.completed);
        expect((await get('api/stats?minutes=0')).status).toBe(400);
      });
    });
  });
}
