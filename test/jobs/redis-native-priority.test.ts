/**
 * Priority order on the native engine across its handler queue's switch to prioritized
 * (queue-prioritizer.ts): default-priority jobs are plain BullMQ jobs until the queue sees another
 * priority; the switch moves waiting plain jobs to the prioritized set oldest first and gives
 * delayed and active ones the default level; a plain add from a node that has not heard of the
 * switch is lifted in its own script. Each case fails when one of those steps is broken.
 */
import { runWithTenant, type App } from 'clusterkit';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ClusterFactory, TestCluster } from '../conformance/cluster.js';
import { counter, deferred, within } from '../helpers.js';
import { startNode } from './jobs-helpers.js';
import { onNativeRedis } from './native-redis.js';

const LANE = { pluginName: 'p', queueName: 'q', jobName: 'j' } as const;

await onNativeRedis('native engine: priority across the plain/prioritized switch', (factory) => priorities(factory));

/** A concurrency-1 handler held busy by a first job until `release`; records the order jobs finish in. */
async function busyHandler(app: App, expected: number) {
  const gate = deferred();
  const busy = deferred();
  const order: string[] = [];
  const all = counter(expected);
  const attempts = new Map<string, number>();
  await app.managedQueue.process({ ...LANE, concurrency: 1 }, async (job) => {
    const name = job.data as string;
    const n = (attempts.get(name) ?? 0) + 1;
    attempts.set(name, n);
    if (name === 'long' && n === 1) {
      busy.resolve();
      await gate.promise;
      order.push('long#1');
      throw new Error('the first attempt fails');
    }
    order.push(name);
    all.hit();
  });
  return { order, all, busy: busy.promise, release: () => gate.resolve() };
}

function priorities(factory: ClusterFactory): void {
  describe('native engine: priority across the plain/prioritized switch', () => {
    let cluster: TestCluster;
    beforeEach(() => {
      cluster = factory.create();
    });
    afterEach(async () => {
      await cluster.dispose();
    });

    it('waiting, delayed and active plain jobs take the default level at the switch, oldest first', async () => {
      const app = await startNode(cluster);
      // long (retried once), d1, d2, dd, 3, 0, 1, d3 → 8 successful runs.
      const h = await busyHandler(app, 8);
      // The running job is plain and active at the switch; its retry must not jump ahead of 0 and 1.
      await app.managedQueue.enqueue({ ...LANE, payload: 'long', attempts: 2, backoffMs: 0 });
      await within(h.busy, 10_000, 'the long job');
      await app.managedQueue.enqueue({ ...LANE, payload: 'd1' });
      await app.managedQueue.enqueue({ ...LANE, payload: 'd2' });
      const { jobId: delayed } = await app.managedQueue.enqueue({ ...LANE, payload: 'dd', delayMs: 300 });
      // The switch: the first job of another priority.
      await app.managedQueue.enqueue({ ...LANE, payload: '3', priority: 3 });
      await app.managedQueue.enqueue({ ...LANE, payload: '0', priority: 0 });
      await app.managedQueue.enqueue({ ...LANE, payload: '1', priority: 1 });
      await app.managedQueue.enqueue({ ...LANE, payload: 'd3' });
      // The delayed job is due (and promoted) while the handler is still busy.
      await vi.waitFor(async () => expect((await app.managedQueue.getJob(delayed))?.state).toBe('waiting'), {
        timeout: 10_000,
        interval: 50,
      });
      h.release();
      await within(h.all.done, 15_000, 'eight runs');
      expect(h.order.slice(0, 3)).toEqual(['long#1', '0', '1']);
      // Default level: the waiting plain jobs keep their order ahead of later ones; the delayed and
      // retried ones enter it when they become ready; priority 3 runs last.
      const defaults = h.order.slice(3, 8);
      expect(defaults.filter((n) => n === 'd1' || n === 'd2' || n === 'd3')).toEqual(['d1', 'd2', 'd3']);
      expect(new Set(defaults)).toEqual(new Set(['d1', 'd2', 'd3', 'dd', 'long']));
      expect(h.order[8]).toBe('3');
    });

    it('a plain add from a node that has not heard of the switch is lifted to the default level', async () => {
      const a = await startNode(cluster);
      const b = await startNode(cluster);
      const h = await busyHandler(a, 8);
      await a.managedQueue.enqueue({ ...LANE, payload: 'long', attempts: 2, backoffMs: 0 });
      await within(h.busy, 10_000, 'the long job');
      // Node b adds plain jobs before and after node a switches the queue.
      await b.managedQueue.enqueue({ ...LANE, payload: 'b1' });
      await a.managedQueue.enqueue({ ...LANE, payload: '3', priority: 3 });
      // Each add path: a generated id, a caller id (the id index's add), a tenant (the tenant index's add).
      await b.managedQueue.enqueue({ ...LANE, payload: 'b2' });
      await b.managedQueue.enqueue({ ...LANE, payload: 'b2i', jobId: 'b2i' });
      await runWithTenant({ tenantId: 't' }, () => b.managedQueue.enqueue({ ...LANE, payload: 'b2t' }));
      await b.managedQueue.enqueue({ ...LANE, payload: '0', priority: 0 });
      await b.managedQueue.enqueue({ ...LANE, payload: 'b3' });
      h.release();
      await within(h.all.done, 15_000, 'eight runs');
      expect(h.order).toEqual(['long#1', '0', 'b1', 'b2', 'b2i', 'b2t', 'b3', 'long', '3']);
    });
  });
}
