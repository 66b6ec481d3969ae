/**
 * Managed jobs whose state changes are atomic transitions (issue 13): each case is the regression
 * test of one defect that was reproduced on the earlier, multi-command design, and now cannot happen.
 */
import { runWithTenant, type App } from 'clusterkit';
import { afterEach, beforeEach, describe, expect, vi } from 'vitest';
import type { ClusterFactory, TestCluster } from '../conformance/cluster.js';
import { counter, deferred, within } from '../helpers.js';
import { claimAsDeadNode, ticketOf } from './job-internals.js';
import { casesFor, startNode } from './jobs-helpers.js';

const PHYSICAL = 'managed-queue:plugin-jobs';

/**
 * Makes `app` write a job's record and its ticket in two steps, as on a store and event queue that
 * cannot write both in one (a Redis store and Redis event queue on one server do: `createWithTicket`;
 * the window these tests open exists only on the two-step path, which stays the fallback).
 */
function twoSteps(app: App): void {
  const prepare = app.eventQueue.prepareRecord.bind(app.eventQueue);
  app.eventQueue.prepareRecord = ((...args: Parameters<typeof prepare>) => ({
    ...prepare(...args),
    adapter: {} as ReturnType<typeof prepare>['adapter'],
  })) as typeof prepare;
}

/** Makes `app`'s next publishes on the physical queue hang for ever, as if the node died right there. */
function crashBeforeTicket(app: App): { reached: Promise<void> } {
  twoSteps(app);
  const reached = deferred();
  const original = app.eventQueue.publish.bind(app.eventQueue);
  app.eventQueue.publish = ((channel: string, message: unknown, options?: object) => {
    if (channel !== PHYSICAL) return original(channel, message, options);
    reached.resolve();
    return new Promise(() => {});
  }) as typeof app.eventQueue.publish;
  return { reached: reached.promise };
}

export function transitionsSuite(factory: ClusterFactory): void {
  /** Whether the engine carries jobs as tickets on the physical queue (then a case also checks what only it has). */
  const tickets = factory.managedFeatures?.has('physical-queue') ?? true;
  describe(`managed jobs, atomic transitions (${factory.label})`, () => {
    const it = casesFor(factory);
    let cluster: TestCluster;
    beforeEach(() => {
      cluster = factory.create();
    });
    afterEach(async () => {
      await cluster.dispose();
    });

    it('#1 a finished and removed jobId can be enqueued again, and the new job runs', async () => {
      const app = await startNode(cluster);
      const ran = [deferred(), deferred()];
      await app.managedQueue.process({ pluginName: 'p', queueName: 'q', jobName: 'again' }, (job) => {
        ran[job.data as number]!.resolve();
      });
      const input = { pluginName: 'p', queueName: 'q', jobName: 'again', jobId: 'X', removeOnComplete: true };
      const first = await app.managedQueue.enqueue({ ...input, payload: 0 });
      await within(ran[0]!.promise, 10_000, 'first job');
      await vi.waitFor(async () => expect(await app.managedQueue.getJob(first.jobId)).toBeNull(), { timeout: 5_000 });
      const second = await app.managedQueue.enqueue({ ...input, payload: 1 });
      expect(second.jobId).toBe(first.jobId);
      await within(ran[1]!.promise, 10_000, 'the job enqueued again under the same id');
    });

    it('#2 a crash between saving the record and publishing its ticket: re-enqueueing the id repairs the job', async () => {
      const crashed = await startNode(cluster, { worker: false });
      const worker = await startNode(cluster);
      await worker.managedQueue.process({ pluginName: 'p', queueName: 'q', jobName: 'lost' }, (job) => job.data);
      const crash = crashBeforeTicket(crashed);
      const input = { pluginName: 'p', queueName: 'q', jobName: 'lost', jobId: 'order-7', payload: 'ok' };
      void crashed.managedQueue.enqueue(input).catch(() => {});
      await within(crash.reached, 10_000, 'the record write');
      const { jobId } = await worker.managedQueue.enqueue(input);
      expect(await worker.managedQueue.waitForJob(jobId, { timeoutMs: 10_000 })).toBe('ok');
    });

    it('#2 a crash between saving the record and publishing its ticket: the reconciler republishes it in bound', async () => {
      const crashed = await startNode(cluster, { worker: false });
      const worker = await startNode(cluster, { ticketRepairMs: 300 });
      await worker.managedQueue.process({ pluginName: 'p', queueName: 'q', jobName: 'lost' }, (job) => job.data);
      const crash = crashBeforeTicket(crashed);
      void crashed.managedQueue.enqueue({ pluginName: 'p', queueName: 'q', jobName: 'lost', jobId: 'o-8', payload: 8 });
      await within(crash.reached, 10_000, 'the record write');
      const [info] = (await worker.managedQueue.listJobs({ pluginName: 'p' })).jobs;
      expect(info).toBeDefined();
      expect(await worker.managedQueue.waitForJob(info!.id, { timeoutMs: 10_000 })).toBe(8);
    });

    it('#2 the transaction afterCommit path: a crash after commit is repaired too', async () => {
      const crashed = await startNode(cluster, { worker: false });
      const worker = await startNode(cluster);
      await worker.managedQueue.process({ pluginName: 'p', queueName: 'q', jobName: 'tx' }, (job) => job.data);
      const crash = crashBeforeTicket(crashed);
      let commit: (() => unknown) | undefined;
      const input = { pluginName: 'p', queueName: 'q', jobName: 'tx', jobId: 'tx-1', payload: 'committed' };
      await crashed.managedQueue.enqueue(input, { transaction: { afterCommit: (cb) => void (commit = cb) } });
      commit!();
      await within(crash.reached, 10_000, 'the record write');
      const { jobId } = await worker.managedQueue.enqueue(input);
      expect(await worker.managedQueue.waitForJob(jobId, { timeoutMs: 10_000 })).toBe('committed');
    });

    it('#3 duplicate tickets and a dead owner: one takeover, never two runs at once', async () => {
      const producer = await startNode(cluster, { worker: false });
      const nodes = [await startNode(cluster), await startNode(cluster)];
      let running = 0;
      let peak = 0;
      let runs = 0;
      const release = deferred();
      for (const node of nodes) {
        await node.managedQueue.process(
          { pluginName: 'p', queueName: 'q', jobName: 'once', concurrency: 4 },
          async () => {
            runs += 1;
            running += 1;
            peak = Math.max(peak, running);
            await release.promise;
            running -= 1;
            return 'done';
          },
        );
      }
      const { jobId } = await producer.managedQueue.enqueue({
        pluginName: 'p',
        queueName: 'q',
        jobName: 'once',
        payload: null,
        delayMs: 60_000,
      });
      await claimAsDeadNode(producer, jobId, `${cluster.name}#dead-node`);
      const ticket = await ticketOf(producer, jobId);
      await Promise.all(
        Array.from({ length: 6 }, (_, i) => producer.eventQueue.publish(PHYSICAL, ticket, { jobId: `dup-${i}` })),
      );
      await vi.waitFor(() => expect(runs).toBeGreaterThanOrEqual(1), { timeout: 10_000 });
      // Give every duplicate time to be looked at (each is handed back or dropped within a few ms).
      await vi.waitFor(async () => expect((await producer.eventQueue.counts(PHYSICAL)).waiting).toBe(0), {
        timeout: 10_000,
      });
      release.resolve();
      expect(await producer.managedQueue.waitForJob(jobId, { timeoutMs: 10_000 })).toBe('done');
      expect(peak).toBe(1);
    });

    it('#4 cancel({ abortActive }) marks one generation only: the same id enqueued later runs', async () => {
      const app = await startNode(cluster);
      const started = deferred();
      await app.managedQueue.process({ pluginName: 'p', queueName: 'q', jobName: 'abortable' }, async (job) => {
        if (job.data === 'first') {
          started.resolve();
          await new Promise((resolve) => job.signal.addEventListener('abort', resolve, { once: true }));
          throw job.signal.reason;
        }
        return 'second ran';
      });
      const input = { pluginName: 'p', queueName: 'q', jobName: 'abortable', jobId: 'same', removeOnFail: true };
      const first = await app.managedQueue.enqueue({ ...input, payload: 'first' });
      await within(started.promise, 10_000, 'first start');
      await vi.waitFor(async () => expect((await app.managedQueue.getJob(first.jobId))?.state).toBe('active'));
      expect(await app.managedQueue.cancel({ jobId: first.jobId, abortActive: true })).toEqual({ success: true });
      await vi.waitFor(async () => expect(await app.managedQueue.getJob(first.jobId)).toBeNull(), { timeout: 10_000 });
      const second = await app.managedQueue.enqueue({ ...input, payload: 'second' });
      expect(await app.managedQueue.waitForJob(second.jobId, { timeoutMs: 10_000 })).toBe('second ran');
    });

    it("#5 a tenant's schedule id is namespaced: another tenant using the same id cannot replace it", async () => {
      const app = await startNode(cluster, { schedules: false });
      const base = { pluginName: 'p', queueName: 'q', jobName: 'nightly', everyMs: 3_600_000, scheduleId: 'nightly' };
      const a = await runWithTenant({ tenantId: 'A' }, () => app.managedQueue.schedule({ ...base, payload: 'A' }));
      const b = await runWithTenant({ tenantId: 'B' }, () => app.managedQueue.schedule({ ...base, payload: 'B' }));
      expect(a.scheduleId).not.toBe(b.scheduleId);
      const ofA = await runWithTenant({ tenantId: 'A' }, () => app.managedQueue.listSchedules());
      expect(ofA.map((s) => s.payload)).toEqual(['A']);
      expect(await runWithTenant({ tenantId: 'B' }, () => app.managedQueue.removeSchedule(a.scheduleId))).toBe(false);
      expect(await app.managedQueue.listSchedules()).toHaveLength(2);
    });

    it('#6 a schedule tick whose enqueue fails is run later, not skipped', async () => {
      const app = await startNode(cluster);
      const ran = new Set<string>();
      await app.managedQueue.process({ pluginName: 'p', queueName: 'cron', jobName: 'tick' }, (job) => {
        ran.add(job.id);
      });
      const failedTick = deferred<string>();
      twoSteps(app);
      const original = app.eventQueue.publish.bind(app.eventQueue);
      let failures = 0;
      app.eventQueue.publish = ((channel: string, message: { jobId?: string }, options?: object) => {
        if (channel === PHYSICAL && failures === 0) {
          failures += 1;
          failedTick.resolve(message.jobId ?? '');
          return Promise.reject(new Error('broker hiccup'));
        }
        return original(channel, message, options);
      }) as typeof app.eventQueue.publish;
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

    it('#7 a busy handler takes waiting jobs in priority order', async ({ skip }) => {
      const app = await startNode(cluster);
      if (!app.eventQueue.capabilities.priority) skip('event-queue adapter has no priority');
      const order: string[] = [];
      const gate = deferred();
      const started = deferred();
      const all = counter(6);
      await app.managedQueue.process(
        { pluginName: 'p', queueName: 'q', jobName: 'lane', concurrency: 1 },
        async (job) => {
          order.push(job.data as string);
          if (job.data === 'long') {
            started.resolve();
            await gate.promise;
          }
          all.hit();
        },
      );
      await app.managedQueue.enqueue({ pluginName: 'p', queueName: 'q', jobName: 'lane', payload: 'long' });
      await within(started.promise, 10_000, 'long job');
      const plan: [string, number][] = [
        ['low-1', 3],
        ['low-2', 3],
        ['normal', 2],
        ['urgent', 0],
        ['high', 1],
      ];
      const ids: string[] = [];
      for (const [name, priority] of plan) {
        ids.push(
          (
            await app.managedQueue.enqueue({
              pluginName: 'p',
              queueName: 'q',
              jobName: 'lane',
              payload: name,
              priority,
            })
          ).jobId,
        );
      }
      // With tickets: every waiting job has reached the node and was turned away by the busy lane (parked
      // there) before the slot frees; a ticket fetched from the physical queue but not yet in the lane is
      // not enough. Without (native engine): the jobs wait in their handler's queue, which orders them.
      await vi.waitFor(
        async () => {
          if (tickets) {
            expect((await app.eventQueue.counts(PHYSICAL)).waiting).toBe(0);
            const records = await Promise.all(ids.map((id) => app.managedQueue.jobStore.get(id)));
            expect(records.map((r) => r?.parkedBy)).toEqual(ids.map(() => app.nodeId));
          }
          const infos = await Promise.all(ids.map((id) => app.managedQueue.getJob(id)));
          expect(infos.map((info) => info?.state)).toEqual(ids.map(() => 'waiting'));
        },
        { timeout: 10_000 },
      );
      gate.resolve();
      await within(all.done, 15_000, 'six jobs');
      expect(order).toEqual(['long', 'urgent', 'high', 'normal', 'low-1', 'low-2']);
    });

    it('#8 the rate-limit budget is spent by starts only, not by stale or duplicate tickets (two nodes)', async () => {
      const nodes = [await startNode(cluster), await startNode(cluster)];
      const rateLimit = { max: 3, durationMs: 3_600_000 };
      let ran = 0;
      for (const node of nodes) {
        await node.managedQueue.process(
          { pluginName: 'p', queueName: 'q', jobName: 'rated', concurrency: 5, rateLimit },
          () => void (ran += 1),
        );
      }
      const window = Math.floor(Date.now() / rateLimit.durationMs);
      const first = await nodes[0]!.managedQueue.enqueue({
        pluginName: 'p',
        queueName: 'q',
        jobName: 'rated',
        payload: 0,
      });
      await nodes[0]!.managedQueue.waitForJob(first.jobId, { timeoutMs: 10_000 });
      if (tickets) {
        // Stale tickets of the finished job (the native engine has none: a job is its handler queue's job).
        const stale = await ticketOf(nodes[0]!, first.jobId);
        await Promise.all(
          Array.from({ length: 5 }, (_, i) => nodes[0]!.eventQueue.publish(PHYSICAL, stale, { jobId: `stale-${i}` })),
        );
        await vi.waitFor(async () => expect((await nodes[0]!.eventQueue.counts(PHYSICAL)).waiting).toBe(0), {
          timeout: 10_000,
        });
      }
      const more = await Promise.all(
        [1, 2].map(
          async (i) =>
            (await nodes[1]!.managedQueue.enqueue({ pluginName: 'p', queueName: 'q', jobName: 'rated', payload: i }))
              .jobId,
        ),
      );
      if (Math.floor(Date.now() / rateLimit.durationMs) !== window) return; // crossed an hour boundary: no verdict
      for (const id of more) await nodes[1]!.managedQueue.waitForJob(id, { timeoutMs: 10_000 });
      expect(ran).toBe(3);
    });

    it('#9 attempts are counted as BullMQ users read them, and every attempt stays in the history', async () => {
      const app = await startNode(cluster);
      let failFirst = true;
      await app.managedQueue.process({ pluginName: 'p', queueName: 'q', jobName: 'count' }, (job) => {
        if (job.data === 'flaky' && failFirst) {
          failFirst = false;
          throw new Error('first try fails');
        }
        return job.attemptsMade;
      });
      const once = await app.managedQueue.enqueue({ pluginName: 'p', queueName: 'q', jobName: 'count', payload: 'ok' });
      expect(await app.managedQueue.waitForJob(once.jobId, { timeoutMs: 10_000 })).toBe(0);
      expect(await app.managedQueue.getJob(once.jobId)).toMatchObject({ attemptsMade: 1, maxAttempts: 1 });
      const flaky = await app.managedQueue.enqueue({
        pluginName: 'p',
        queueName: 'q',
        jobName: 'count',
        payload: 'flaky',
      });
      await expect(app.managedQueue.waitForJob(flaky.jobId, { timeoutMs: 10_000 })).rejects.toThrow('first try fails');
      expect(await app.managedQueue.retry(flaky.jobId)).toEqual({ success: true });
      expect(await app.managedQueue.waitForJob(flaky.jobId, { timeoutMs: 10_000 })).toBe(0);
      const info = (await app.managedQueue.getJob(flaky.jobId)) as unknown as {
        attemptsMade: number;
        history: {
          attempt: number;
          node: string;
          startedAt: number;
          finishedAt: number;
          error?: { message: string };
        }[];
      };
      expect(info.attemptsMade).toBe(1);
      expect(info.history.map((h) => [h.attempt, h.error?.message])).toEqual([
        [1, 'first try fails'],
        [2, undefined],
      ]);
      for (const entry of info.history) {
        expect(entry.node).toBe(app.nodeId);
        expect(entry.finishedAt).toBeGreaterThanOrEqual(entry.startedAt);
      }
    });

    it('a retry due at once (no backoff) runs on the node that just failed it, not dropped as a duplicate', async () => {
      const app = await startNode(cluster);
      let calls = 0;
      // A free slot in the lane: the retry's ticket is not parked but started at once, while the failed run settles.
      await app.managedQueue.process({ pluginName: 'p', queueName: 'q', jobName: 'again', concurrency: 2 }, () => {
        calls += 1;
        if (calls < 3) throw new Error(`try ${calls} fails`);
        return calls;
      });
      const { jobId } = await app.managedQueue.enqueue({
        pluginName: 'p',
        queueName: 'q',
        jobName: 'again',
        payload: null,
        attempts: 3,
        backoffMs: 0,
      });
      expect(await app.managedQueue.waitForJob(jobId, { timeoutMs: 10_000 })).toBe(3);
      expect(await app.managedQueue.getJob(jobId)).toMatchObject({ state: 'completed', attemptsMade: 3 });
    });

    it('keeps handler log lines with the job (job.log and ctx.log), bounded, and returns them from getJob', async () => {
      const app = await startNode(cluster);
      await app.managedQueue.process({ pluginName: 'p', queueName: 'q', jobName: 'logged' }, async (job, ctx) => {
        await job.log('starting');
        await ctx.log(`tenant ${ctx.tenantId ?? '-'}`);
        await job.log('x'.repeat(10_000));
        expect(Object.keys(ctx)).not.toContain('log');
      });
      const { jobId } = await app.managedQueue.enqueue({
        pluginName: 'p',
        queueName: 'q',
        jobName: 'logged',
        payload: 1,
      });
      await app.managedQueue.waitForJob(jobId, { timeoutMs: 10_000 });
      const info = await app.managedQueue.getJob(jobId);
      expect(info!.logs!.slice(0, 2)).toEqual(['starting', 'tenant -']);
      expect(Buffer.byteLength(info!.logs![2]!)).toBeLessThanOrEqual(2_048);
      expect(await app.managedQueue.getJobLogs(jobId)).toEqual(info!.logs);
      expect(info!.history).toHaveLength(1);
      expect(info!.history[0]).toMatchObject({ attempt: 1, node: app.nodeId, outcome: 'completed' });
    });
  });
}
