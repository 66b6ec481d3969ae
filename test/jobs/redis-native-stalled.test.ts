/**
 * The native engine (Redis's default): a job BullMQ's stalled check fails —
 * its lock lost more often than `maxStalledCount` allows (as when the node running it dies again
 * and again) — reads as a failed job like any other: `getJob` and `waitForJob` answer with the
 * failure (also when `removeOnFail` removed it), `job:failed` is emitted, and the history shows
 * each lost attempt. Locks are taken away by deleting them, as a node that stops extending them
 * loses them; {@link FAST_NATIVE} makes BullMQ's stalled check quick.
 */
import type { App } from 'clusterkit';
import { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { HandlerName } from '../../adapters/redis/native-job-shape.js';
import type { TestCluster } from '../conformance/cluster.js';
import { startNode } from './jobs-helpers.js';
import { onNativeRedis, scanNativeLocks } from './native-redis.js';

const STALLED = 'job stalled more than allowable limit';

await onNativeRedis('a job failed by the stalled check on the native engine', (factory, url) => {
  describe('a job failed by the stalled check (redis-native)', () => {
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

    /**
     * Runs a job whose every start loses its lock (the handler waits for its signal and gives up),
     * until BullMQ's stalled check fails it; resolves with what the operator node saw.
     */
    async function stalledOut(app: App, operator: App, removeOnFail: boolean) {
      const h: HandlerName = { pluginName: 'p', queueName: 'q', jobName: `stalls-${removeOnFail}` };
      const failed: [string, string, boolean, string | undefined][] = [];
      app.managedQueue.on('job:failed', (info, error, meta) => {
        if (info.jobName === h.jobName) failed.push([info.id, info.state, meta.willRetry, error.message]);
      });
      let starts = 0;
      await app.managedQueue.process(h, async (job) => {
        starts += 1;
        // Lose the lock, as a node that died would: no extension reaches Redis any more.
        for (const lock of await scanNativeLocks(redis, cluster.name, h)) await redis.del(lock);
        await new Promise((resolve) => job.signal.addEventListener('abort', resolve, { once: true }));
        throw job.signal.reason;
      });
      const { jobId } = await operator.managedQueue.enqueue({ ...h, payload: null, attempts: 5, removeOnFail });
      const outcome = await operator.managedQueue.waitForJob(jobId, { timeoutMs: 40_000 }).then(
        () => 'completed',
        (error: unknown) => error as { code?: string; message: string },
      );
      return { jobId, outcome, failed, starts: () => starts };
    }

    it('with removeOnFail: waitForJob answers with the failure, job:failed is emitted, getJob is null', async () => {
      const app = await startNode(cluster);
      const operator = await startNode(cluster, { worker: false });
      const { jobId, outcome, failed, starts } = await stalledOut(app, operator, true);
      expect(outcome).toMatchObject({ message: STALLED });
      expect(starts()).toBe(2);
      await vi.waitFor(() => expect(failed.filter((f) => !f[2])).toHaveLength(1), { timeout: 10_000 });
      expect(failed.at(-1)).toEqual([jobId, 'failed', false, STALLED]);
      expect(await operator.managedQueue.getJob(jobId)).toBeNull();
    }, 60_000);

    it('without removeOnFail: a failed job with its failure, attempts and every lost attempt in the history', async () => {
      const app = await startNode(cluster);
      const operator = await startNode(cluster, { worker: false });
      const { jobId, outcome, failed } = await stalledOut(app, operator, false);
      expect(outcome).toMatchObject({ message: STALLED });
      const info = (await operator.managedQueue.getJob(jobId))!;
      expect(info).toMatchObject({ state: 'failed', failedReason: STALLED, attemptsMade: 1 });
      expect(info.failedCode).toBeUndefined();
      expect(info.history.map((h) => [h.attempt, h.node, h.outcome])).toEqual([
        [1, app.nodeId, 'lost'],
        [2, app.nodeId, 'lost'],
        [3, app.nodeId, 'failed'],
      ]);
      // Each attempt ended, with why (as the record engine's history shows an attempt it took over).
      for (const h of info.history) expect(h.finishedAt).toBeGreaterThanOrEqual(h.startedAt);
      expect(info.history.map((h) => h.error?.message)).toEqual([
        `node ${app.nodeId} lost this attempt (its lock expired before it finished)`,
        `node ${app.nodeId} lost this attempt (its lock expired before it finished)`,
        STALLED,
      ]);
      await vi.waitFor(() => expect(failed.filter((f) => !f[2])).toHaveLength(1), { timeout: 10_000 });
      expect(failed.at(-1)).toEqual([jobId, 'failed', false, STALLED]);
    }, 60_000);
  });
});
