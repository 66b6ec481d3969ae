/**
 * Managed jobs across nodes: a node without the handler hands jobs back unspent, a handler missing
 * everywhere fails its jobs with NO_PROCESSOR, one plugin's backlog never delays another plugin
 * (head-of-line), priority order, global concurrency and rate limits, schedules firing once.
 */
import { currentTenant, type App } from 'clusterkit';
import { afterEach, beforeEach, describe, expect, vi } from 'vitest';
import type { ClusterFactory, TestCluster } from '../conformance/cluster.js';
import { counter, deferred, within } from '../helpers.js';
import { casesFor, FAST, startNode } from './jobs-helpers.js';

export function clusterSuite(factory: ClusterFactory): void {
  describe(`managed jobs across nodes (${factory.label})`, () => {
    const it = casesFor(factory);
    let cluster: TestCluster;
    beforeEach(() => {
      cluster = factory.create();
    });
    afterEach(async () => {
      await cluster.dispose();
    });

    it('a node without the handler hands jobs back without spending attempts', async () => {
      const producer = await startNode(cluster); // consumes the physical queue but has no handler
      const worker = await startNode(cluster);
      const ranOn = new Set<string>();
      await worker.managedQueue.process(
        { pluginName: 'p', queueName: 'q', jobName: 'only-on-worker', concurrency: 4 },
        () => {
          ranOn.add(worker.nodeId);
        },
      );
      const ids: string[] = [];
      for (let i = 0; i < 20; i += 1) {
        ids.push(
          (
            await producer.managedQueue.enqueue({
              pluginName: 'p',
              queueName: 'q',
              jobName: 'only-on-worker',
              payload: i,
            })
          ).jobId,
        );
      }
      for (const id of ids) await producer.managedQueue.waitForJob(id, { timeoutMs: 15_000 });
      for (const id of ids)
        expect(await producer.managedQueue.getJob(id)).toMatchObject({ state: 'completed', attemptsMade: 1 });
      expect([...ranOn]).toEqual([worker.nodeId]);
    });

    it('takes over a job whose node stopped mid-run, without spending an attempt', async () => {
      const first = cluster.node({ stopGracePeriodMs: 100, managedQueue: FAST });
      await first.start();
      const second = await startNode(cluster);
      const started = deferred();
      await first.managedQueue.process({ pluginName: 'p', queueName: 'q', jobName: 'long' }, async (job) => {
        started.resolve();
        await new Promise((resolve) => job.signal.addEventListener('abort', resolve, { once: true }));
        throw job.signal.reason;
      });
      const { jobId } = await second.managedQueue.enqueue({
        pluginName: 'p',
        queueName: 'q',
        jobName: 'long',
        payload: null,
      });
      await within(started.promise, 10_000, 'start on the first node');
      await second.managedQueue.process(
        { pluginName: 'p', queueName: 'q', jobName: 'long' },
        () => 'finished elsewhere',
      );
      const result = second.managedQueue.waitForJob(jobId, { timeoutMs: 20_000 });
      await first.stop();
      expect(await result).toBe('finished elsewhere');
      // The attempt lost with the stopped node is in the history, not in attemptsMade.
      const info = await second.managedQueue.getJob(jobId);
      expect(info).toMatchObject({ state: 'completed', attemptsMade: 1 });
      expect(info!.history.map((h) => [h.node, h.outcome])).toEqual([
        [first.nodeId, 'lost'],
        [second.nodeId, 'completed'],
      ]);
    });

    it('fails a job with NO_PROCESSOR once no live node has had its handler for the grace period', async () => {
      const app = await startNode(cluster, { processorGraceMs: 300 });
      // A producer-only node may register the handler (same plugin code everywhere) but never runs
      // jobs, so it does not count as having it.
      const producer = await startNode(cluster, { worker: false, processorGraceMs: 300 });
      await producer.managedQueue.process({ pluginName: 'ghost', queueName: 'q', jobName: 'nobody' }, () => 'never');
      // Events are local to the node where the failure happens: whichever node that is.
      const events: [string, number, string, boolean, string | undefined][] = [];
      for (const node of [app, producer])
        node.managedQueue.on('job:failed', (info, error, meta) =>
          events.push([info.id, info.attemptsMade, info.state, meta.willRetry, (error as { code?: string }).code]),
        );
      const input = { pluginName: 'ghost', queueName: 'q', jobName: 'nobody', payload: null };
      const { jobId } = await app.managedQueue.enqueue({ ...input, attempts: 2, backoffMs: 10 });
      const gone = await app.managedQueue.enqueue({ ...input, removeOnFail: true });
      // A job removed at its end: its waiter hears the failure, not NOT_FOUND.
      const goneError = app.managedQueue.waitForJob(gone.jobId, { timeoutMs: 15_000 }).catch((e: unknown) => e);
      const waitStarted = Date.now();
      const error = await app.managedQueue.waitForJob(jobId, { timeoutMs: 15_000 }).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'NO_PROCESSOR' });
      // Woken by the failure, not by the deadline.
      expect(Date.now() - waitStarted).toBeLessThan(10_000);
      const info = await app.managedQueue.getJob(jobId);
      expect(info).toMatchObject({ state: 'failed', attemptsMade: 2, failedCode: 'NO_PROCESSOR' });
      expect(info!.failedReason).toMatch(/no processor registered for ghost\/q\/nobody/);
      expect(info!.timestamps.finishedAt).toBeGreaterThanOrEqual(info!.timestamps.enqueuedAt);
      // One failed attempt per attempt spent, each with the failure.
      expect(info!.history.map((h) => [h.attempt, h.outcome, h.error?.message, h.error?.code])).toEqual(
        [1, 2].map((n) => [n, 'failed', info!.failedReason, 'NO_PROCESSOR']),
      );
      for (const h of info!.history) expect(h.finishedAt).toBeGreaterThanOrEqual(h.startedAt);
      // One job:failed per attempt, the last one final.
      await vi.waitFor(() => expect(events.filter((e) => e[0] === jobId)).toHaveLength(2), { timeout: 5_000 });
      expect(events.filter((e) => e[0] === jobId).map((e) => [e[1], e[3], e[4]])).toEqual([
        [1, true, 'NO_PROCESSOR'],
        [2, false, 'NO_PROCESSOR'],
      ]);
      expect(events.find((e) => e[0] === jobId && !e[3])?.[2]).toBe('failed');
      // removeOnFail: the failed job is removed.
      await vi.waitFor(async () => expect(await app.managedQueue.getJob(gone.jobId)).toBeNull(), { timeout: 10_000 });
      expect(events.filter((e) => e[0] === gone.jobId).map((e) => [e[1], e[3]])).toEqual([[1, false]]);
      expect(await goneError).toMatchObject({ code: 'NO_PROCESSOR', message: info!.failedReason });
    });

    it('a burst of 1,000 jobs for a concurrency-1 handler does not delay another plugin (head-of-line)', async () => {
      const worker = await startNode(cluster, { workerConcurrency: 8 });
      const producer = await startNode(cluster, { worker: false });
      const gate = deferred();
      const bulkStarted = counter(1);
      let bulkDone = 0;
      await worker.managedQueue.process(
        { pluginName: 'bulk', queueName: 'import', jobName: 'row', concurrency: 1 },
        async () => {
          bulkStarted.hit();
          await gate.promise;
          bulkDone += 1;
        },
      );
      await worker.managedQueue.process(
        { pluginName: 'other', queueName: 'mail', jobName: 'send', concurrency: 2 },
        () => 'sent',
      );
      for (let i = 0; i < 1_000; i += 10) {
        await Promise.all(
          Array.from({ length: 10 }, (_, k) =>
            producer.managedQueue.enqueue({ pluginName: 'bulk', queueName: 'import', jobName: 'row', payload: i + k }),
          ),
        );
      }
      await within(bulkStarted.done, 15_000, 'first bulk job');
      // Enqueued after the whole burst, same priority: FIFO alone would put them behind 999 rows.
      const others: string[] = [];
      for (let i = 0; i < 5; i += 1) {
        others.push(
          (await producer.managedQueue.enqueue({ pluginName: 'other', queueName: 'mail', jobName: 'send', payload: i }))
            .jobId,
        );
      }
      for (const id of others) expect(await producer.managedQueue.waitForJob(id, { timeoutMs: 20_000 })).toBe('sent');
      const bulk = await producer.managedQueue.getMetrics({ pluginName: 'bulk' });
      expect(bulk.completed).toBe(0);
      expect(bulkDone).toBe(0);
      expect(bulk.waiting + bulk.delayed).toBeGreaterThanOrEqual(990);
      gate.resolve();
    });

    it('runs jobs in priority order, lower first, publish order within a priority', async ({ skip }) => {
      const probe = cluster.node();
      if (!probe.eventQueue.capabilities.priority) skip('event-queue adapter has no priority');
      const producer = await startNode(cluster, { worker: false });
      const order: string[] = [];
      const all = counter(6);
      const plan: [string, number][] = [
        ['low', 3],
        ['normal-1', 2],
        ['urgent', 0],
        ['high', 1],
        ['normal-2', 2],
        ['lowest', 7],
      ];
      for (const [name, priority] of plan) {
        await producer.managedQueue.enqueue({
          pluginName: 'p',
          queueName: 'q',
          jobName: 'ordered',
          payload: name,
          priority,
        });
      }
      const worker = cluster.node({ managedQueue: { workerConcurrency: 1, handBackDelayMs: 20 } });
      await worker.managedQueue.process({ pluginName: 'p', queueName: 'q', jobName: 'ordered' }, (job) => {
        order.push(job.data as string);
        all.hit();
      });
      await worker.start();
      await within(all.done, 15_000, 'six jobs');
      expect(order).toEqual(['urgent', 'high', 'normal-1', 'normal-2', 'low', 'lowest']);
    });

    it('local concurrency bounds the jobs of one handler running on one node', async () => {
      const app = await startNode(cluster);
      const gate = deferred();
      const twoRunning = deferred();
      let running = 0;
      let peak = 0;
      const all = counter(6);
      await app.managedQueue.process({ pluginName: 'p', queueName: 'q', jobName: 'pair', concurrency: 2 }, async () => {
        running += 1;
        peak = Math.max(peak, running);
        if (running === 2) twoRunning.resolve();
        await gate.promise;
        running -= 1;
        all.hit();
      });
      for (let i = 0; i < 6; i += 1) {
        await app.managedQueue.enqueue({ pluginName: 'p', queueName: 'q', jobName: 'pair', payload: i });
      }
      await within(twoRunning.promise, 10_000, 'two running jobs');
      expect(await app.managedQueue.getMetrics({ pluginName: 'p' })).toMatchObject({ active: 2, waiting: 4 });
      gate.resolve();
      await within(all.done, 10_000, 'six jobs');
      expect(peak).toBe(2);
    });

    it('globalConcurrency bounds running jobs across nodes; local concurrency bounds one node', async () => {
      const nodes = [await startNode(cluster), await startNode(cluster)];
      let running = 0;
      let peak = 0;
      const perNode = new Map<string, { running: number; peak: number }>();
      const all = counter(12);
      for (const node of nodes) {
        const local = { running: 0, peak: 0 };
        perNode.set(node.nodeId, local);
        await node.managedQueue.process(
          { pluginName: 'p', queueName: 'q', jobName: 'limited', concurrency: 3, globalConcurrency: 2 },
          async () => {
            running += 1;
            local.running += 1;
            peak = Math.max(peak, running);
            local.peak = Math.max(local.peak, local.running);
            await new Promise((resolve) => setTimeout(resolve, 20)); // simulated work, not synchronization
            running -= 1;
            local.running -= 1;
            all.hit();
          },
        );
      }
      for (let i = 0; i < 12; i += 1)
        await nodes[0]!.managedQueue.enqueue({ pluginName: 'p', queueName: 'q', jobName: 'limited', payload: i });
      await within(all.done, 20_000, 'twelve jobs');
      expect(peak).toBeLessThanOrEqual(2);
      expect(peak).toBeGreaterThanOrEqual(1);
      for (const local of perNode.values()) expect(local.peak).toBeLessThanOrEqual(2);
    });

    it('enforces a rate limit cluster-wide', async () => {
      const nodes = [await startNode(cluster), await startNode(cluster)];
      const D = 3_600_000; // one window (aligned to the epoch hour) covers the whole test, almost always
      const rateLimit = { max: 3, durationMs: D };
      let ran = 0;
      for (const node of nodes) {
        await node.managedQueue.process(
          { pluginName: 'p', queueName: 'q', jobName: 'rated', concurrency: 5, rateLimit },
          () => void (ran += 1),
        );
      }
      const before = Date.now();
      const ids: string[] = [];
      for (let i = 0; i < 5; i += 1) {
        ids.push(
          (await nodes[1]!.managedQueue.enqueue({ pluginName: 'p', queueName: 'q', jobName: 'rated', payload: i }))
            .jobId,
        );
      }
      // Settled: either 3 ran and the other 2 were handed back to wait for the next window, or (the
      // test crossed an hour boundary) a second window let everything run.
      await vi.waitFor(
        async () => {
          const counts = await nodes[0]!.eventQueue.counts('managed-queue:plugin-jobs');
          const settled =
            ran === 5 || (ran === 3 && counts.waiting === 0 && counts.active === 0 && counts.delayed === 2);
          expect(settled).toBe(true);
        },
        { timeout: 15_000, interval: 50 },
      );
      const windows = Math.floor(Date.now() / D) - Math.floor(before / D) + 1;
      expect(ran).toBe(Math.min(5, rateLimit.max * windows));
      const states = await Promise.all(ids.map(async (id) => (await nodes[0]!.managedQueue.getJob(id))!.state));
      expect(states.filter((state) => state === 'completed')).toHaveLength(ran);
      expect(states.filter((state) => state === 'waiting')).toHaveLength(5 - ran);
    });

    it('fires a schedule exactly once per tick across three nodes, and lists and removes it', async () => {
      const nodes: App[] = [];
      const runs: { tick: string; node: string }[] = [];
      const fourTicks = deferred();
      for (let i = 0; i < 3; i += 1) {
        const node = await startNode(cluster);
        await node.managedQueue.process(
          { pluginName: 'p', queueName: 'cron', jobName: 'tick', concurrency: 4 },
          (job, ctx) => {
            expect(currentTenant()?.tenantId).toBe('acme');
            expect(ctx.tenantId).toBe('acme');
            runs.push({ tick: job.id, node: node.nodeId });
            if (new Set(runs.map((r) => r.tick)).size >= 4) fourTicks.resolve();
          },
        );
        nodes.push(node);
      }
      const { scheduleId } = await nodes[0]!.managedQueue.schedule({
        pluginName: 'p',
        queueName: 'cron',
        jobName: 'tick',
        everyMs: 250,
        payload: { n: 1 },
        tenantId: 'acme',
      });
      const again = await nodes[1]!.managedQueue.schedule({
        pluginName: 'p',
        queueName: 'cron',
        jobName: 'tick',
        everyMs: 250,
        payload: { n: 1 },
        tenantId: 'acme',
      });
      expect(again.scheduleId).toBe(scheduleId);
      await within(fourTicks.promise, 20_000, 'four ticks');
      const firstThree = [...new Set(runs.map((r) => r.tick))].slice(0, 3);
      for (const tick of firstThree) expect(runs.filter((r) => r.tick === tick)).toHaveLength(1);
      const list = await nodes[2]!.managedQueue.listSchedules();
      expect(list).toHaveLength(1);
      expect(list[0]).toMatchObject({ scheduleId, everyMs: 250, tenantId: 'acme', payload: { n: 1 } });
      expect(list[0]!.nextRunAt).toBeGreaterThan(Date.now() - 1_000);
      expect(await nodes[2]!.managedQueue.removeSchedule(scheduleId)).toBe(true);
      expect(await nodes[0]!.managedQueue.listSchedules()).toEqual([]);
      expect(await nodes[0]!.managedQueue.removeSchedule(scheduleId)).toBe(false);
      await expect(
        nodes[0]!.managedQueue.schedule({
          pluginName: 'p',
          queueName: 'c',
          jobName: 'j',
          cron: 'not a cron',
          payload: null,
        }),
      ).rejects.toMatchObject({
        code: 'INVALID_OPTION',
      });
      await expect(
        nodes[0]!.managedQueue.schedule({ pluginName: 'p', queueName: 'c', jobName: 'j', payload: null } as never),
      ).rejects.toMatchObject({
        code: 'INVALID_ARGUMENT',
      });
      const cron = await nodes[0]!.managedQueue.schedule({
        pluginName: 'p',
        queueName: 'c',
        jobName: 'j',
        cron: '0 9 * * 1',
        tz: 'Europe/Berlin',
        payload: null,
      });
      const [stored] = (await nodes[0]!.managedQueue.listSchedules()).filter((s) => s.scheduleId === cron.scheduleId);
      expect(new Date(stored!.nextRunAt!).getUTCDay()).toBe(1);
    });
  });
}
