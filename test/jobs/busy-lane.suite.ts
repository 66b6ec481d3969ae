/**
 * Tickets whose lane is full: held by their physical delivery while they wait for a park turn (a
 * node parks only a quarter of its physical slots' worth at once), then parked. Either way they keep
 * their priority order, and a node that stops with them hands every one back: they run on another
 * node without spending an attempt. (A node SIGKILLed with parked jobs: test/faults/enqueue-crash.test.ts.)
 */
import type { App } from 'clusterkit';
import { afterEach, beforeEach, describe, expect, vi } from 'vitest';
import type { ClusterFactory, TestCluster } from '../conformance/cluster.js';
import { counter, deferred, within } from '../helpers.js';
import { casesFor, FAST, startNode } from './jobs-helpers.js';

const PHYSICAL = 'managed-queue:plugin-jobs';
const LANE = { pluginName: 'p', queueName: 'q', jobName: 'lane' } as const;

/**
 * Makes the node's park writes wait (the real store still does them) until the returned function is
 * called: a slow store, so tickets stay held while one park holds the only turn.
 */
function slowParks(app: App): { parks: () => number; letThrough: () => void } {
  const store = app.managedQueue.jobStore;
  const park = store.park.bind(store);
  const open = deferred();
  let parks = 0;
  store.park = async (...args) => {
    parks += 1;
    await open.promise;
    return park(...args);
  };
  return { parks: () => parks, letThrough: () => open.resolve() };
}

export function busyLaneSuite(factory: ClusterFactory): void {
  describe(`managed jobs in a busy lane (${factory.label})`, () => {
    const it = casesFor(factory);
    let cluster: TestCluster;
    beforeEach(() => {
      cluster = factory.create();
    });
    afterEach(async () => {
      await cluster.dispose();
    });

    it('held and parked tickets run in priority order with one park turn per node', async ({ skip }) => {
      // 4 physical slots: one park turn, so most tickets wait held in their delivery for a while.
      const app = await startNode(cluster, { workerConcurrency: 4 });
      if (!app.eventQueue.capabilities.priority) skip('event-queue adapter has no priority');
      const order: string[] = [];
      const gate = deferred();
      const started = deferred();
      const all = counter(9);
      await app.managedQueue.process({ ...LANE, concurrency: 1 }, async (job) => {
        order.push(job.data as string);
        if (job.data === 'long') {
          started.resolve();
          await gate.promise;
        }
        all.hit();
      });
      await app.managedQueue.enqueue({ ...LANE, payload: 'long' });
      await within(started.promise, 10_000, 'long job');
      const plan: [string, number][] = [
        ['low-1', 3],
        ['low-2', 3],
        ['normal-1', 2],
        ['urgent', 0],
        ['high-1', 1],
        ['normal-2', 2],
        ['high-2', 1],
        ['lowest', 7],
      ];
      for (const [name, priority] of plan) await app.managedQueue.enqueue({ ...LANE, payload: name, priority });
      await vi.waitFor(async () => expect((await app.eventQueue.counts(PHYSICAL)).waiting).toBe(0), {
        timeout: 10_000,
      });
      gate.resolve();
      await within(all.done, 15_000, 'nine jobs');
      expect(order).toEqual(['long', 'urgent', 'high-1', 'high-2', 'normal-1', 'normal-2', 'low-1', 'low-2', 'lowest']);
    });

    it('a held ticket the lane takes runs in its own delivery, in priority order, and is never parked', async ({
      skip,
    }) => {
      const app = await startNode(cluster, { workerConcurrency: 4 });
      if (!app.eventQueue.capabilities.priority) skip('event-queue adapter has no priority');
      const slow = slowParks(app);
      const order: string[] = [];
      const gate = deferred();
      const started = deferred();
      const all = counter(4);
      await app.managedQueue.process({ ...LANE, concurrency: 1 }, async (job) => {
        order.push(job.data as string);
        if (job.data === 'long') {
          started.resolve();
          await gate.promise;
        }
        all.hit();
      });
      await app.managedQueue.enqueue({ ...LANE, payload: 'long' });
      await within(started.promise, 10_000, 'long job');
      const ids: string[] = [];
      for (const [name, priority] of [
        ['low', 3],
        ['urgent', 0],
        ['high', 1],
      ] as const) {
        ids.push((await app.managedQueue.enqueue({ ...LANE, payload: name, priority })).jobId);
      }
      // Three slots took the three tickets: one holds the only park turn (its write waits), two are held.
      await vi.waitFor(async () => expect((await app.eventQueue.counts(PHYSICAL)).waiting).toBe(0), {
        timeout: 10_000,
      });
      await vi.waitFor(() => expect(slow.parks()).toBe(1), { timeout: 10_000 });
      gate.resolve();
      // The lane runs the held ones meanwhile; the parked one after its write.
      await vi.waitFor(() => expect(order.length).toBeGreaterThanOrEqual(2), { timeout: 10_000 });
      slow.letThrough();
      await within(all.done, 15_000, 'four jobs');
      expect(order).toEqual(['long', 'urgent', 'high', 'low']);
      expect(slow.parks()).toBeLessThanOrEqual(2);
      for (const id of ids)
        expect(await app.managedQueue.getJob(id)).toMatchObject({ state: 'completed', attemptsMade: 1 });
    });

    it('a node that stops with a busy lane hands its held and parked jobs to another node, unspent', async () => {
      const first = cluster.node({ stopGracePeriodMs: 100, managedQueue: { ...FAST, workerConcurrency: 4 } });
      await first.start();
      const slow = slowParks(first);
      const started = deferred();
      await first.managedQueue.process({ ...LANE, concurrency: 1 }, async (job) => {
        started.resolve();
        await new Promise((resolve) => job.signal.addEventListener('abort', resolve, { once: true }));
        throw job.signal.reason;
      });
      const ids: string[] = [];
      for (let i = 0; i < 8; i += 1) ids.push((await first.managedQueue.enqueue({ ...LANE, payload: i })).jobId);
      await within(started.promise, 10_000, 'the first job on the first node');
      // The first node's four slots: one job running, one ticket parking (its write waits), two held.
      await vi.waitFor(() => expect(slow.parks()).toBe(1), { timeout: 10_000 });
      await vi.waitFor(async () => expect((await first.eventQueue.counts(PHYSICAL)).active).toBe(4), {
        timeout: 10_000,
      });
      const second = await startNode(cluster);
      const ranOn = new Set<string>();
      await second.managedQueue.process({ ...LANE, concurrency: 8 }, () => {
        ranOn.add(second.nodeId);
        return 'done elsewhere';
      });
      const stopping = first.stop();
      slow.letThrough();
      await stopping;
      for (const id of ids) {
        expect(await second.managedQueue.waitForJob(id, { timeoutMs: 20_000 })).toBe('done elsewhere');
      }
      for (const id of ids) {
        expect(await second.managedQueue.getJob(id)).toMatchObject({ state: 'completed', attemptsMade: 1 });
      }
      expect([...ranOn]).toEqual([second.nodeId]);
    });
  });
}
