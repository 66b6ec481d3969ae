/**
 * The native managed-job engine (Redis's default) on a 3-master Redis Cluster
 * (started for this file on free loopback ports): the shared suites' cases it declares
 * (`NATIVE_FEATURES`), so every step it takes — registering a handler queue, the id index, reads,
 * cancel, NO_PROCESSOR, the finished and abort channels — runs with keys spread over slots and
 * masters, where a command or script touching keys of two slots fails; plus what only the native
 * engine has: pause flags read while a handler queue is registered, and the plugin-wide id index.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ClusterFactory, TestCluster } from '../conformance/cluster.js';
import { onRedisCluster } from '../redis/on-redis-cluster.js';
import { basicsSuite } from './basics.suite.js';
import { clusterSuite } from './cluster.suite.js';
import { controlSuite } from './control.suite.js';
import { NATIVE_FEATURES, startNode } from './jobs-helpers.js';
import { FAST_NATIVE } from './native-redis.js';

onRedisCluster(
  'managed jobs on the native engine on redis-cluster',
  (factory) => {
    basicsSuite(factory);
    controlSuite(factory);
    clusterSuite(factory);
    nativeOnCluster(factory);
  },
  {
    // The default engine ('redis-cluster records' is redis-cluster.test.ts).
    label: 'redis-cluster',
    options: () => ({ managedJobs: FAST_NATIVE }),
    managedFeatures: new Set(NATIVE_FEATURES),
  },
);

function nativeOnCluster(factory: ClusterFactory): void {
  describe('the native engine on redis-cluster', () => {
    let cluster: TestCluster;
    beforeEach(() => {
      cluster = factory.create();
    });
    afterEach(async () => {
      await cluster.dispose();
    });

    it('pauses and resumes a logical queue on every node, a handler queue created while paused included', async () => {
      const worker = await startNode(cluster);
      const operator = await startNode(cluster, { worker: false });
      const ran: string[] = [];
      const lq = { pluginName: 'p', queueName: 'q' };
      await worker.managedQueue.process({ ...lq, jobName: 'a' }, (job) => void ran.push(job.data as string));
      await operator.managedQueue.pause(lq);
      expect(await worker.managedQueue.isPaused(lq)).toBe(true);
      // 'b' is new to the cluster: registering its queue reads the paused flag (same slot, same step).
      const a = await operator.managedQueue.enqueue({ ...lq, jobName: 'a', payload: 'a' });
      const b = await operator.managedQueue.enqueue({ ...lq, jobName: 'b', payload: 'b' });
      await worker.managedQueue.process({ ...lq, jobName: 'b' }, (job) => void ran.push(job.data as string));
      // Another plugin (another slot) runs meanwhile: the worker has gone past the paused ones.
      await worker.managedQueue.process({ pluginName: 'other', queueName: 'q', jobName: 'm' }, () => 'm');
      const m = await operator.managedQueue.enqueue({ pluginName: 'other', queueName: 'q', jobName: 'm', payload: 0 });
      expect(await operator.managedQueue.waitForJob(m.jobId, { timeoutMs: 10_000 })).toBe('m');
      expect(ran).toEqual([]);
      expect((await operator.managedQueue.getJob(b.jobId))!.state).toBe('waiting');
      await operator.managedQueue.resume(lq);
      await operator.managedQueue.waitForJob(a.jobId, { timeoutMs: 10_000 });
      await operator.managedQueue.waitForJob(b.jobId, { timeoutMs: 10_000 });
      expect(ran.sort()).toEqual(['a', 'b']);
    });

    it("dedupes a caller jobId across a plugin's handler queues and finds it from another node", async () => {
      const producer = await startNode(cluster, { worker: false });
      const worker = await startNode(cluster);
      const first = await producer.managedQueue.enqueue({
        pluginName: 'p',
        queueName: 'q1',
        jobName: 'j1',
        payload: 1,
        jobId: 'order:7',
      });
      const again = await producer.managedQueue.enqueue({
        pluginName: 'p',
        queueName: 'q2',
        jobName: 'j2',
        payload: 2,
        jobId: 'order:7',
      });
      expect(again.jobId).toBe(first.jobId);
      await worker.managedQueue.process({ pluginName: 'p', queueName: 'q1', jobName: 'j1' }, (job) => job.data);
      expect(await worker.managedQueue.waitForJob(first.jobId, { timeoutMs: 10_000 })).toBe(1);
      expect(await producer.managedQueue.getJob(first.jobId)).toMatchObject({ queueName: 'q1', state: 'completed' });
      expect(await producer.managedQueue.cancel({ jobId: first.jobId })).toEqual({
        success: false,
        reason: 'completed',
      });
    });
  });
}
