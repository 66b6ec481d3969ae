/**
 * Job statistics for the dashboard's pictures: what a node's recorder writes (per minute and logical
 * queue: completed, failed, retried, wait- and run-time histograms), how the report merges nodes and
 * computes percentiles, and the bounds (queues per minute, retention). Events are fed to the
 * recorder as a managed queue emits them, so durations are exact; the store is a real app's, on
 * memory and on Redis. A real end-to-end run is in dashboard-api.test.ts.
 */
import { EventEmitter } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, silentLogger, type App } from 'clusterkit';
import { createJobStatsRecorder, readJobStats, type OpsApp } from 'clusterkit/ops';
import { randomName } from '../helpers.js';
import { backends } from './dashboard-fixture.js';

for (const backend of await backends()) {
  describe(`job statistics on ${backend.name}`, () => {
    let app: App;
    beforeAll(async () => {
      app = createApp({
        name: randomName('stats'),
        logger: silentLogger,
        ...(backend.adapters ? { adapters: backend.adapters() } : {}),
      });
      await app.start();
    });
    afterAll(async () => {
      await app?.stop();
      await backend.cleanup?.();
    });

    /** A node of `app`'s cluster whose job events the test emits. */
    function node(name = app.name): OpsApp & { events: EventEmitter } {
      const events = new EventEmitter();
      return {
        name,
        nodeId: randomName('node'),
        events,
        managedQueue: events,
        cacheManager: { store: app.cacheManager.store },
      } as unknown as OpsApp & { events: EventEmitter };
    }
    const job = (queueName: string, extra: object = {}) => ({
      id: randomName('j'),
      pluginName: 'mail',
      queueName,
      jobName: 'send',
      state: 'active',
      attemptsMade: 0,
      timestamps: { enqueuedAt: Date.now() - 1_000 },
      ...extra,
    });

    it('counts completed, failed and retried jobs per minute and queue, with run- and wait-time percentiles', async () => {
      const n = node();
      const recorder = createJobStatsRecorder(n);
      try {
        const now = Date.now();
        for (let i = 0; i < 90; i++) n.events.emit('job:completed', job('outbox'), { durationMs: 100 });
        for (let i = 0; i < 10; i++) n.events.emit('job:completed', job('outbox'), { durationMs: 1_000 });
        n.events.emit('job:failed', job('outbox'), new Error('x'), { willRetry: true, durationMs: 50 });
        n.events.emit('job:failed', job('outbox'), new Error('x'), { willRetry: false, durationMs: 50 });
        // Never ran (no processor anywhere): counted as failed, but no run time.
        n.events.emit('job:failed', job('outbox', { failedCode: 'NO_PROCESSOR' }), new Error('x'), {
          willRetry: false,
          durationMs: 0,
        });
        for (let i = 0; i < 20; i++) {
          n.events.emit(
            'job:active',
            job('digest', { timestamps: { enqueuedAt: now - 60_000, runAt: now - 250, startedAt: now } }),
          );
        }
        n.events.emit('job:completed', job('digest'), { durationMs: 5 });
        await recorder.flush();

        const report = await readJobStats(n, { minutes: 60 });
        expect(report.available).toBe(true);
        expect(report.minutes).toHaveLength(60);
        expect(report.nodes).toEqual([n.nodeId]);
        const last = report.minutes.length - 1;
        const outbox = report.queues.find((q) => q.queueName === 'outbox')!;
        expect(outbox).toMatchObject({ pluginName: 'mail', completed: 100, failed: 2, retried: 1 });
        // Percentiles are within a histogram bin (±9 %).
        expect(outbox.run!.count).toBe(102);
        expect(outbox.run!.p50).toBeGreaterThan(91);
        expect(outbox.run!.p50).toBeLessThan(110);
        expect(outbox.run!.p95).toBeGreaterThan(910);
        expect(outbox.run!.p95).toBeLessThan(1_100);
        expect(outbox.wait).toBeNull();
        const digest = report.queues.find((q) => q.queueName === 'digest')!;
        // Wait is measured from when the job was due (runAt), not from its enqueue a minute earlier.
        expect(digest.wait!.p50).toBeGreaterThan(227);
        expect(digest.wait!.p50).toBeLessThan(275);
        expect(digest.series.completed[last]).toBe(1);
        expect(report.totals.completed[last]! + (report.totals.completed[last - 1] ?? 0)).toBe(101);
        expect(report.totals.failed.reduce((a, b) => a + b, 0)).toBe(2);
      } finally {
        await recorder.close();
      }
    });

    it('merges every node of the app, and only of the app', async () => {
      const name = randomName('merged');
      const [a, b, other] = [node(name), node(name), node(randomName('other'))];
      const recorders = [a, b, other].map((n) => createJobStatsRecorder(n));
      try {
        a.events.emit('job:completed', job('q'), { durationMs: 10 });
        b.events.emit('job:completed', job('q'), { durationMs: 10 });
        b.events.emit('job:completed', job('q'), { durationMs: 10 });
        other.events.emit('job:completed', job('q'), { durationMs: 10 });
        for (const r of recorders) await r.flush();
        const report = await readJobStats(a);
        expect(report.nodes.sort()).toEqual([a.nodeId, b.nodeId].sort());
        expect(report.queues).toHaveLength(1);
        expect(report.queues[0]!.completed).toBe(3);
      } finally {
        for (const r of recorders) await r.close();
      }
    });

    it('is bounded: extra queues of a minute are counted as */*, one recorder per app, entries expire', async () => {
      const n = node(randomName('bounded'));
      const recorder = createJobStatsRecorder(n, { maxQueues: 3, retentionMs: 120_000 });
      const again = createJobStatsRecorder(n); // shares the first one: events are not counted twice
      try {
        for (let i = 0; i < 10; i++) n.events.emit('job:completed', job(`q${i}`), { durationMs: 1 });
        await recorder.flush();
        const report = await readJobStats(n);
        expect(report.queues.map((q) => `${q.pluginName}/${q.queueName}`).sort()).toEqual([
          '*/*',
          'mail/q0',
          'mail/q1',
          'mail/q2',
        ]);
        expect(report.queues.reduce((sum, q) => sum + q.completed, 0)).toBe(10);
        const keys: string[] = [];
        for await (const key of app.cacheManager.store.scan(`${n.name}:ops:stats:`)) keys.push(key);
        expect(keys).toHaveLength(1);
        const ttl = await app.cacheManager.store.pttl(keys[0]!);
        expect(ttl).toBeGreaterThan(0);
        expect(ttl).toBeLessThanOrEqual(240_000);
      } finally {
        await again.close();
        await recorder.close();
      }
      // Closed: no longer listening.
      expect(n.events.listenerCount('job:completed')).toBe(0);
    });

    it('keeps its counts quietly while the store is closed (before start, after stop)', async () => {
      const stopped = createApp({ name: randomName('stopped'), logger: silentLogger });
      const events = new EventEmitter();
      const n = {
        name: stopped.name,
        nodeId: 'n1',
        managedQueue: events,
        cacheManager: stopped.cacheManager,
      } as unknown as OpsApp;
      const errors: unknown[] = [];
      const recorder = createJobStatsRecorder(n, { onError: (e) => errors.push(e) });
      try {
        events.emit('job:completed', job('q'), { durationMs: 3 });
        await recorder.flush(); // store not connected yet
        expect(errors).toEqual([]);
        await stopped.start();
        await recorder.flush();
        expect((await readJobStats(n)).queues[0]?.completed).toBe(1);
      } finally {
        await recorder.close();
        await stopped.stop();
      }
    });

    it('reports nothing (available: false) for an app without a store, and refuses bad windows', async () => {
      const bare = { name: 'x', managedQueue: new EventEmitter() } as unknown as OpsApp;
      expect(await readJobStats(bare)).toMatchObject({ available: false, queues: [] });
      await expect(readJobStats(bare, { minutes: 0 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
      expect(() => createJobStatsRecorder(bare, { flushIntervalMs: 0 })).toThrow(/flushIntervalMs/);
    });
  });
}
