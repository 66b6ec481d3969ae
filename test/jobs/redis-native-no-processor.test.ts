/**
 * NO_PROCESSOR on the native engine (Redis's default managed-job engine), beyond the
 * shared case (test/jobs/cluster.suite.ts, run for it by redis-native.test.ts): a handler that
 * appears within the grace period runs the job; a paused queue's jobs are left waiting; a due
 * delayed job fails too; the failed retention applies as on BullMQ's own final failure; and the
 * pass prunes id-index entries whose job is gone.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { TestCluster } from '../conformance/cluster.js';
import { scanKeys } from '../conformance/redis-factory.js';
import { onNativeRedis } from './native-redis.js';
import { startNode } from './jobs-helpers.js';
import { nativePluginTag } from '../../adapters/redis/native-job-shape.js';

await onNativeRedis('native engine NO_PROCESSOR', (factory, url) => {
  describe('native engine NO_PROCESSOR (redis-native)', () => {
    let cluster: TestCluster;
    let redis: Redis;
    let plugin: string;
    beforeEach(() => {
      cluster = factory.create();
      redis = new Redis(url);
      plugin = `np-${randomBytes(4).toString('hex')}`;
    });
    afterEach(async () => {
      redis.disconnect();
      await cluster.dispose();
    });

    it('a handler that appears within the grace period runs the job', async () => {
      const producer = await startNode(cluster, { processorGraceMs: 2_000 });
      const job = { pluginName: plugin, queueName: 'q', jobName: 'late' };
      const { jobId } = await producer.managedQueue.enqueue({ ...job, payload: 'x' });
      // Let a pass see the handler missing (not yet for the grace period).
      await vi.waitFor(async () => expect(await markedMissing(redis, `${plugin}:q:late`)).toBe(true), {
        timeout: 5_000,
      });
      const worker = await startNode(cluster, { processorGraceMs: 2_000 });
      await worker.managedQueue.process(job, (j) => `ran ${String(j.data)}`);
      expect(await producer.managedQueue.waitForJob(jobId, { timeoutMs: 10_000 })).toBe('ran x');
    });

    it('fails a due delayed job, leaves a paused queue waiting, and counts the attempts as spent', async () => {
      const app = await startNode(cluster, { processorGraceMs: 300 });
      const mq = app.managedQueue;
      const delayed = await mq.enqueue({
        pluginName: plugin,
        queueName: 'q',
        jobName: 'd',
        payload: 1,
        delayMs: 200,
        attempts: 3,
      });
      await mq.pause({ pluginName: plugin, queueName: 'held' });
      const held = await mq.enqueue({ pluginName: plugin, queueName: 'held', jobName: 'h', payload: 2 });
      const error = await mq.waitForJob(delayed.jobId, { timeoutMs: 10_000 }).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'NO_PROCESSOR' });
      expect(await mq.getJob(delayed.jobId)).toMatchObject({
        state: 'failed',
        failedCode: 'NO_PROCESSOR',
        attemptsMade: 3,
      });
      // The pass that failed it looked at the paused queue's job too (ready and missing as long, or
      // longer); one more failure (a later pass) proves that pass ended.
      const later = await mq.enqueue({ pluginName: plugin, queueName: 'q', jobName: 'd', payload: 3 });
      const again = await mq.waitForJob(later.jobId, { timeoutMs: 10_000 }).catch((e: unknown) => e);
      expect(again).toMatchObject({ code: 'NO_PROCESSOR' });
      expect(await mq.getJob(held.jobId)).toMatchObject({ state: 'waiting' });
    });

    it('a handler starting while its jobs are being failed: each job either runs once or fails, never both', async () => {
      const app = await startNode(cluster, { processorGraceMs: 200 });
      const mq = app.managedQueue;
      const job = { pluginName: plugin, queueName: 'q', jobName: 'racing' };
      const ids: string[] = [];
      for (let i = 0; i < 300; i += 1) ids.push((await mq.enqueue({ ...job, payload: i })).jobId);
      // The first failure means a pass is failing the rest now: start the handler at once.
      const first = await mq.waitForJob(ids[0]!, { timeoutMs: 10_000 }).catch((e: unknown) => e);
      expect(first).toMatchObject({ code: 'NO_PROCESSOR' });
      const runs = new Map<number, number>();
      await mq.process({ ...job, concurrency: 16 }, (j) => {
        runs.set(j.data as number, (runs.get(j.data as number) ?? 0) + 1);
      });
      const ends = await Promise.all(
        ids.map((id) =>
          mq.waitForJob(id, { timeoutMs: 20_000 }).then(
            () => 'completed',
            (e: { code?: string }) => e.code,
          ),
        ),
      );
      for (const [i, end] of ends.entries()) {
        const info = await mq.getJob(ids[i]!);
        if (end === 'completed') {
          expect(runs.get(i), ids[i]).toBe(1);
          expect(info, ids[i]).toMatchObject({ state: 'completed' });
          expect(info!.failedCode, ids[i]).toBeUndefined();
        } else {
          expect(end, ids[i]).toBe('NO_PROCESSOR');
          expect(runs.get(i), ids[i]).toBeUndefined();
          expect(info, ids[i]).toMatchObject({ state: 'failed', failedCode: 'NO_PROCESSOR' });
        }
      }
    });

    it("applies the failed retention as BullMQ's final failure does (the app's default here)", async () => {
      const app = await startNode(cluster, { processorGraceMs: 300, failedRetentionMs: 1 });
      const mq = app.managedQueue;
      const job = { pluginName: plugin, queueName: 'q', jobName: 'kept' };
      const first = await mq.enqueue({ ...job, payload: 1 });
      await expect(mq.waitForJob(first.jobId, { timeoutMs: 10_000 })).rejects.toMatchObject({ code: 'NO_PROCESSOR' });
      expect(await mq.getJob(first.jobId)).toMatchObject({ state: 'failed' });
      // BullMQ's age is in whole seconds and is applied by a later failure in the same queue: one
      // due over a second after the first failed removes it.
      const second = await mq.enqueue({ ...job, payload: 2, delayMs: 1_100 });
      await expect(mq.waitForJob(second.jobId, { timeoutMs: 10_000 })).rejects.toMatchObject({
        code: 'NO_PROCESSOR',
      });
      expect(await mq.getJob(first.jobId)).toBeNull();
      expect(await mq.getJob(second.jobId)).toMatchObject({ state: 'failed', failedCode: 'NO_PROCESSOR' });
    });

    it('prunes id-index entries whose job is gone', async () => {
      const app = await startNode(cluster, { processorGraceMs: 300 });
      const mq = app.managedQueue;
      await mq.process({ pluginName: plugin, queueName: 'q', jobName: 'j' }, () => 'done');
      const input = { pluginName: plugin, queueName: 'q', jobName: 'j', payload: null, removeOnComplete: true };
      const ids = [];
      for (let i = 0; i < 3; i += 1) ids.push((await mq.enqueue({ ...input, jobId: `gone-${i}` })).jobId);
      // Not ready (delayed): not failed for want of a processor, and its entry stays.
      const kept = await mq.enqueue({ ...input, jobName: 'idle', jobId: 'kept', delayMs: 60_000 });
      await vi.waitFor(
        async () => {
          const [index] = await scanKeys(redis, `*:nj:{${nativePluginTag(cluster.name, plugin)}}:ids`);
          expect(index).toBeDefined();
          expect(await redis.hlen(index!)).toBe(1);
        },
        { timeout: 10_000 },
      );
      expect(await mq.getJob(kept.jobId)).toMatchObject({ state: 'delayed', jobName: 'idle' });
      for (const id of ids) expect(await mq.getJob(id)).toBeNull();
    });
  });
});

/** Has a NO_PROCESSOR pass marked handler `handlerKey` missing (in any app's hash of missing handlers)? */
async function markedMissing(client: Redis, handlerKey: string): Promise<boolean> {
  for (const key of await scanKeys(client, '*:nj:*:missing'))
    if ((await client.hexists(key, handlerKey)) === 1) return true;
  return false;
}
