/**
 * The native engine's job reads (`listJobs`, `getMetrics`, `getQueueStats`, `clean`;
 * adapters/redis/native-job-queries.ts) beyond the shared suites' cases: tenant scoping, paging
 * newest first with the total, cancelled jobs counted apart, `clean` by state/age/tenant, and the
 * tenant index (written only for jobs with a tenant, its entries dropped once BullMQ removes the job).
 */
import { runWithTenant, type App, type ManagedJobInfo } from 'clusterkit';
import { Redis } from 'ioredis';
import { nativeBullName } from '../../adapters/redis/native-ids.js';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { TestCluster } from '../conformance/cluster.js';
import { scanKeys } from '../conformance/redis-factory.js';
import { onNativeRedis } from './native-redis.js';
import { deferred, within } from '../helpers.js';
import { startNode } from './jobs-helpers.js';

/** Keys of the native engine's own indexes of handler p/q/j of the app (SCAN, never KEYS). */
async function indexKeys(client: Redis, appName: string): Promise<string[]> {
  const queue = nativeBullName(appName, { pluginName: 'p', queueName: 'q', jobName: 'j' });
  return (await scanKeys(client, `*${queue}:ck:*`)).sort();
}

function newestFirst(jobs: ManagedJobInfo[]): void {
  for (let i = 1; i < jobs.length; i += 1)
    expect(jobs[i - 1]!.timestamps.enqueuedAt).toBeGreaterThanOrEqual(jobs[i]!.timestamps.enqueuedAt);
}

await onNativeRedis(
  'native engine job reads',
  (factory, url) => {
    describe('native engine job reads (redis-native)', () => {
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

      const enqueueAs = (app: App, tenantId: string | undefined, n: number, queueName: string, jobName = 'j') => {
        const add = async () => {
          const ids: string[] = [];
          for (let i = 0; i < n; i += 1)
            ids.push((await app.managedQueue.enqueue({ pluginName: 'p', queueName, jobName, payload: i })).jobId);
          return ids;
        };
        return tenantId === undefined ? add() : runWithTenant({ tenantId }, add);
      };

      it('scopes listJobs, getMetrics and getQueueStats to the tenant; pages newest first with the total', async () => {
        const app = await startNode(cluster, { worker: false });
        const mq = app.managedQueue;
        const a = [...(await enqueueAs(app, 'a', 3, 'q1')), ...(await enqueueAs(app, 'a', 2, 'q2', 'k'))];
        const b = await enqueueAs(app, 'b', 3, 'q1');
        const none = await enqueueAs(app, undefined, 2, 'q2');
        const later = await mq.enqueue({
          pluginName: 'p',
          queueName: 'q1',
          jobName: 'j',
          payload: 'x',
          delayMs: 60_000,
        });
        expect(await mq.getMetrics()).toEqual({ waiting: 10, active: 0, completed: 0, failed: 0, delayed: 1 });
        expect(await mq.getMetrics({ queueName: 'q2' })).toMatchObject({ waiting: 4 });
        expect(await mq.getMetrics({ tenantId: 'b' })).toMatchObject({ waiting: 3, delayed: 0 });

        const all = await mq.listJobs({ limit: 100 });
        expect(all.total).toBe(11);
        expect(new Set(all.jobs.map((j) => j.id))).toEqual(new Set([...a, ...b, ...none, later.jobId]));
        newestFirst(all.jobs);
        expect((await mq.listJobs({ state: 'delayed' })).jobs.map((j) => j.id)).toEqual([later.jobId]);
        const pages = [0, 4, 8].map((offset) => mq.listJobs({ state: 'waiting', limit: 4, offset }));
        const paged = (await Promise.all(pages)).flatMap((page) => {
          expect(page.total).toBe(10);
          return page.jobs;
        });
        expect(paged.map((j) => j.id).sort()).toEqual([...a, ...b, ...none].sort());
        newestFirst(paged);

        await runWithTenant({ tenantId: 'a' }, async () => {
          expect(await mq.getMetrics()).toEqual({ waiting: 5, active: 0, completed: 0, failed: 0, delayed: 0 });
          expect(await mq.getMetrics({ queueName: 'q2' })).toMatchObject({ waiting: 2 });
          const page1 = await mq.listJobs({ limit: 2 });
          const rest = await mq.listJobs({ limit: 10, offset: 2 });
          expect(page1.total).toBe(5);
          expect([...page1.jobs, ...rest.jobs].map((j) => j.id).sort()).toEqual([...a].sort());
          newestFirst([...page1.jobs, ...rest.jobs]);
          expect((await mq.listJobs({ state: 'delayed' })).total).toBe(0);
          expect(await mq.getQueueStats()).toEqual([
            {
              pluginName: 'p',
              queueName: 'q1',
              tenantId: 'a',
              waiting: 3,
              active: 0,
              completed: 0,
              failed: 0,
              delayed: 0,
              paused: false,
            },
            {
              pluginName: 'p',
              queueName: 'q2',
              tenantId: 'a',
              waiting: 2,
              active: 0,
              completed: 0,
              failed: 0,
              delayed: 0,
              paused: false,
            },
          ]);
        });
        await mq.pause({ pluginName: 'p', queueName: 'q2' });
        const stats = await mq.getQueueStats();
        expect(stats.map((s) => [s.queueName, s.tenantId, s.waiting, s.delayed, s.paused])).toEqual([
          ['q1', undefined, 0, 1, false],
          ['q1', 'a', 3, 0, false],
          ['q1', 'b', 3, 0, false],
          ['q2', undefined, 2, 0, true],
          ['q2', 'a', 2, 0, true],
        ]);
      });

      it('counts cancelled jobs apart and cleans finished jobs by state, age and tenant', async () => {
        const app = await startNode(cluster);
        const mq = app.managedQueue;
        const started = deferred();
        await mq.process({ pluginName: 'p', queueName: 'q', jobName: 'j' }, async (job) => {
          if (job.data === 'fail') throw new Error('no');
          if (job.data === 'hang') {
            started.resolve();
            await new Promise((resolve) => job.signal.addEventListener('abort', resolve));
            throw job.signal.reason;
          }
          return 'ok';
        });
        const run = async (tenantId: string | undefined, payload: string) => {
          const go = async () => {
            const { jobId } = await mq.enqueue({ pluginName: 'p', queueName: 'q', jobName: 'j', payload });
            await mq.waitForJob(jobId, { timeoutMs: 10_000 }).catch(() => undefined);
            return jobId;
          };
          return tenantId === undefined ? go() : runWithTenant({ tenantId }, go);
        };
        for (const tenant of ['a', 'b', undefined]) {
          await run(tenant, 'ok');
          await run(tenant, 'fail');
        }
        const cancelled = await runWithTenant({ tenantId: 'a' }, () =>
          mq.enqueue({ pluginName: 'p', queueName: 'q', jobName: 'j', payload: 'ok', delayMs: 60_000 }),
        );
        expect(await mq.cancel({ jobId: cancelled.jobId })).toEqual({ success: true });
        // An attempt aborted by cancel({ abortActive }) ends cancelled too (its finish indexes it).
        const aborted = await mq.enqueue({ pluginName: 'p', queueName: 'q', jobName: 'j', payload: 'hang' });
        await within(started.promise, 10_000, 'hang start');
        expect(await mq.cancel({ jobId: aborted.jobId, abortActive: true })).toEqual({ success: true });
        await vi.waitFor(async () => expect((await mq.getJob(aborted.jobId))!.state).toBe('cancelled'));
        expect(await mq.getMetrics()).toEqual({ waiting: 0, active: 0, completed: 3, failed: 3, delayed: 0 });
        expect((await mq.listJobs()).total).toBe(8);
        expect((await mq.listJobs({ state: 'cancelled' })).jobs.map((j) => j.id)).toEqual([
          aborted.jobId,
          cancelled.jobId,
        ]);
        expect((await runWithTenant({ tenantId: 'b' }, () => mq.listJobs({ state: 'cancelled' }))).total).toBe(0);
        expect((await mq.listJobs({ state: 'failed' })).jobs.map((j) => j.state)).toEqual([
          'failed',
          'failed',
          'failed',
        ]);
        await runWithTenant({ tenantId: 'a' }, async () => {
          expect(await mq.getMetrics()).toMatchObject({ completed: 1, failed: 1 });
          expect((await mq.listJobs({ state: 'cancelled' })).jobs.map((j) => j.id)).toEqual([cancelled.jobId]);
          expect(await mq.clean({ state: 'completed', olderThanMs: 3_600_000 })).toBe(0);
          expect(await mq.clean({ state: 'completed', olderThanMs: 0 })).toBe(1);
          expect(await mq.clean({ state: 'cancelled', olderThanMs: 0 })).toBe(1);
          expect(await mq.getMetrics()).toMatchObject({ completed: 0, failed: 1 });
        });
        expect(await mq.getJob(cancelled.jobId)).toBeNull();
        expect((await mq.listJobs({ state: 'cancelled' })).jobs.map((j) => j.id)).toEqual([aborted.jobId]);
        expect(await mq.clean({ state: 'cancelled', olderThanMs: 0, limit: 5 })).toBe(1);
        expect(await mq.getMetrics()).toMatchObject({ completed: 2, failed: 3 });
        expect(await mq.clean({ state: 'failed', olderThanMs: 0, limit: 2 })).toBe(2);
        expect(await mq.clean({ state: 'failed', olderThanMs: 0 })).toBe(1);
        expect(await mq.getMetrics()).toEqual({ waiting: 0, active: 0, completed: 2, failed: 0, delayed: 0 });
      });

      it('keeps a tenant index only for jobs with a tenant, and drops entries of jobs BullMQ removed', async () => {
        const app = await startNode(cluster);
        const mq = app.managedQueue;
        await mq.process({ pluginName: 'p', queueName: 'q', jobName: 'j' }, () => 'ok');
        const plain = await mq.enqueue({ pluginName: 'p', queueName: 'q', jobName: 'j', payload: 1 });
        await mq.waitForJob(plain.jobId, { timeoutMs: 10_000 });
        expect(await indexKeys(redis, cluster.name)).toEqual([]);
        // Paused while they are added, so all three enter the index before any is removed.
        await mq.pause({ pluginName: 'p', queueName: 'q' });
        const tenant = { tenantId: 't:1' };
        const enqueue = (payload: number, delayMs = 0) =>
          runWithTenant(tenant, () =>
            mq.enqueue({ pluginName: 'p', queueName: 'q', jobName: 'j', payload, removeOnComplete: true, delayMs }),
          );
        const removed = [(await enqueue(1)).jobId, (await enqueue(2)).jobId, (await enqueue(3)).jobId];
        await mq.resume({ pluginName: 'p', queueName: 'q' });
        await vi.waitFor(async () => {
          for (const id of removed) expect(await mq.getJob(id)).toBeNull();
        });
        const [index] = (await indexKeys(redis, cluster.name)).filter((key) => key.includes('ck:tenant:'));
        expect(index).toMatch(/ck:tenant:t%3A1$/);
        expect(await redis.zcard(index!)).toBe(3);
        // The next add drops the two oldest entries whose job is gone; a read drops the rest it meets.
        const later = await enqueue(4, 60_000);
        expect(await redis.zcard(index!)).toBe(2);
        await runWithTenant(tenant, async () => {
          expect((await mq.listJobs()).jobs.map((j) => j.id)).toEqual([later.jobId]);
        });
        expect(await redis.zrange(index!, '0', '-1')).toHaveLength(1);
        expect(await mq.remove(later.jobId)).toEqual({ success: true });
        expect(await redis.exists(index!)).toBe(0);
        await runWithTenant(tenant, async () => expect(await mq.listJobs()).toEqual({ jobs: [], total: 0 }));
        expect(await mq.getQueueStats()).toEqual([
          {
            pluginName: 'p',
            queueName: 'q',
            waiting: 0,
            active: 0,
            completed: 1,
            failed: 0,
            delayed: 0,
            paused: false,
          },
        ]);
        expect((await indexKeys(redis, cluster.name)).filter((key) => key.includes('ck:tenant'))).toEqual([]);
      });
    });
  },
  { managedJobs: {} },
);
