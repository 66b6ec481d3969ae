/**
 * Caller job ids on the native engine (Redis's default managed-job engine): a
 * `jobId` is unique per plugin and tenant across the plugin's handlers (as on the record engine),
 * decided in one script call by the plugin's id index — also when two nodes enqueue it at once for
 * two handlers; a stale index entry (its job removed) is overwritten; a scoped id is found through
 * the index alone.
 */
import { randomBytes } from 'node:crypto';
import { runWithTenant } from 'clusterkit';
import { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { encodeJobId } from '../../adapters/redis/bull-names.js';
import type { TestCluster } from '../conformance/cluster.js';
import { scanKeys } from '../conformance/redis-factory.js';
import { onNativeRedis } from './native-redis.js';
import { startNode } from './jobs-helpers.js';

/** The BullMQ job hashes holding the scoped id `jobId` (one per handler queue that has it). */
async function jobHashes(client: Redis, jobId: string): Promise<string[]> {
  return scanKeys(client, `*:q:{nj.*}*:${encodeJobId(jobId)}`);
}

await onNativeRedis('native engine caller ids', (factory, url) => {
  describe('native engine caller ids (redis-native)', () => {
    let cluster: TestCluster;
    let redis: Redis;
    let plugin: string;
    beforeEach(() => {
      cluster = factory.create();
      redis = new Redis(url);
      plugin = `ids-${randomBytes(4).toString('hex')}`;
    });
    afterEach(async () => {
      redis.disconnect();
      await cluster.dispose();
    });

    it('dedupes a jobId across the handlers of one plugin and tenant (not across tenants)', async () => {
      const mq = (await startNode(cluster, { worker: false })).managedQueue;
      const a = { pluginName: plugin, queueName: 'q', jobName: 'a', jobId: 'order:1' };
      const b = { pluginName: plugin, queueName: 'other', jobName: 'b', jobId: 'order:1' };
      const first = await runWithTenant({ tenantId: 't1' }, () => mq.enqueue({ ...a, payload: 'first' }));
      const second = await runWithTenant({ tenantId: 't1' }, () => mq.enqueue({ ...b, payload: 'second' }));
      const elsewhere = await runWithTenant({ tenantId: 't2' }, () => mq.enqueue({ ...b, payload: 'third' }));
      expect(second.jobId).toBe(first.jobId);
      expect(await jobHashes(redis, first.jobId)).toHaveLength(1);
      const info = await runWithTenant({ tenantId: 't1' }, () => mq.getJob(first.jobId));
      expect(info).toMatchObject({ jobName: 'a', queueName: 'q', payload: 'first' });
      expect(elsewhere.jobId).not.toBe(first.jobId);
      const other = await runWithTenant({ tenantId: 't2' }, () => mq.getJob(elsewhere.jobId));
      expect(other).toMatchObject({ jobName: 'b', payload: 'third' });
    });

    it('two nodes enqueueing one jobId for two handlers at once make one job', async () => {
      const one = (await startNode(cluster, { worker: false })).managedQueue;
      const two = (await startNode(cluster, { worker: false })).managedQueue;
      const ids: string[] = [];
      for (let i = 0; i < 25; i += 1) {
        const jobId = `race-${i}`;
        const [x, y] = await Promise.all([
          one.enqueue({ pluginName: plugin, queueName: 'q', jobName: 'a', payload: i, jobId }),
          two.enqueue({ pluginName: plugin, queueName: 'q', jobName: 'b', payload: i, jobId }),
        ]);
        expect(y.jobId).toBe(x.jobId);
        ids.push(x.jobId);
      }
      for (const id of ids) expect(await jobHashes(redis, id), id).toHaveLength(1);
    });

    it('a jobId whose job was removed is free again, for any handler (a stale index entry is overwritten)', async () => {
      const mq = (await startNode(cluster, { worker: false })).managedQueue;
      const input = { pluginName: plugin, queueName: 'q', payload: null, jobId: 'again' };
      const first = await mq.enqueue({ ...input, jobName: 'a' });
      expect((await mq.enqueue({ ...input, jobName: 'b' })).jobId).toBe(first.jobId);
      expect(await mq.getJob(first.jobId)).toMatchObject({ jobName: 'a' });
      expect(await mq.remove(first.jobId)).toEqual({ success: true });
      expect(await mq.getJob(first.jobId)).toBeNull();
      expect((await mq.enqueue({ ...input, jobName: 'b' })).jobId).toBe(first.jobId);
      expect(await mq.getJob(first.jobId)).toMatchObject({ jobName: 'b', state: 'waiting' });
      expect((await mq.enqueue({ ...input, jobName: 'a' })).jobId).toBe(first.jobId);
      expect(await jobHashes(redis, first.jobId)).toHaveLength(1);
      expect(await mq.cancel({ jobId: first.jobId })).toEqual({ success: true });
      expect(await mq.getJob(first.jobId)).toMatchObject({ jobName: 'b', state: 'cancelled' });
    });

    it("finds a scoped id through the plugin's id index alone (not by probing its handler queues)", async () => {
      const mq = (await startNode(cluster, { worker: false })).managedQueue;
      const jobs = ['a', 'b', 'c'].map((jobName) => ({
        pluginName: plugin,
        queueName: 'q',
        jobName,
        payload: jobName,
      }));
      const ids = [];
      for (const job of jobs) ids.push((await mq.enqueue({ ...job, jobId: `id-${job.jobName}` })).jobId);
      // Without the plugin's set of handler queues, only the index can say where each id is.
      const sets = await scanKeys(redis, `*:nj:*handlers:${plugin}`);
      expect(sets).toHaveLength(1);
      await redis.del(...sets);
      for (const [i, id] of ids.entries()) {
        expect(await mq.getJob(id)).toMatchObject({ jobName: jobs[i]!.jobName, state: 'waiting' });
      }
      expect(await mq.getJob(`${plugin}::missing`)).toBeNull();
      expect(await mq.cancel({ jobId: ids[1]! })).toEqual({ success: true });
      expect(await mq.getJob(ids[1]!)).toMatchObject({ state: 'cancelled' });
    });
  });
});
