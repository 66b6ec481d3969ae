/**
 * Two unmodified NocoBase nodes (one app, one PostgreSQL database) clustered by the bridge on a
 * backend: queue messages run once, somewhere; a lock held on one node blocks the other, with
 * increasing fencing tokens; a plugin's sync message reaches the other node and not its sender;
 * worker ids differ; stopping both is clean and leaves nothing on the brokers.
 */
import { LockAcquireError } from '@nocobase/lock-manager';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { startNode, type Backend, type TestNode } from './nocobase-node.js';
import { cleanBrokers, rabbitLeftovers, rabbitQueues, redisLeftovers } from './broker-state.js';
import { useDatabase, randomName } from './services.js';

const DEADLINE = { timeout: 20_000, interval: 20 };

/** Runs the two-node cases on `backend`. */
export function twoNodeSuite(backend: Backend): void {
  describe(`two NocoBase nodes on clusterkit [${backend.label}]`, () => {
    const db = useDatabase();
    let prefix: string;
    let nodes: TestNode[] = [];
    afterEach(async () => {
      await Promise.allSettled(nodes.map((node) => node.stop()));
      nodes = [];
      await cleanBrokers(prefix, backend.rabbit);
    });

    const start = async (count: number, bridge?: Parameters<typeof startNode>[0]['bridge']) => {
      prefix = randomName('ckn');
      const cluster = randomName('nb');
      nodes = [];
      for (let i = 0; i < count; i++) {
        nodes.push(await startNode({ database: db().name, backend, prefix, cluster, bridge }));
      }
      return nodes;
    };

    it('a queue message published on A runs once, on some node', async () => {
      const [a, b] = await start(2);
      const runs: { node: string; n: number }[] = [];
      for (const [label, node] of [
        ['A', a!],
        ['B', b!],
      ] as const) {
        node.app.eventQueue.subscribe('jobs', {
          idle: () => true,
          concurrency: 2,
          process: async (message: { n: number }) => {
            runs.push({ node: label, n: message.n });
          },
        });
      }
      for (let n = 0; n < 20; n++) await a!.app.eventQueue.publish('jobs', { n });
      await vi.waitFor(() => expect(runs).toHaveLength(20), DEADLINE);
      expect(new Set(runs.map((run) => run.n)).size).toBe(20);
      const channel = a!.app.eventQueue.getFullChannel('jobs');
      await vi.waitFor(async () => {
        expect(await a!.installation.clusterkit.eventQueue.counts(channel)).toEqual({
          waiting: 0,
          delayed: 0,
          active: 0,
          dead: 0,
        });
      }, DEADLINE);
      expect(runs).toHaveLength(20);
    });

    it('a lock held on A blocks B until released; fencing tokens increase', async () => {
      const [a, b] = await start(2);
      const releaseA = (await a!.app.lockManager.acquire('ck:resource', 10_000)) as unknown as (() => Promise<void>) & {
        fencingToken: number;
      };
      await expect(b!.app.lockManager.tryAcquire('ck:resource')).rejects.toBeInstanceOf(LockAcquireError);
      await expect(b!.app.lockManager.tryAcquire('ck:resource', 100)).rejects.toBeInstanceOf(LockAcquireError);
      let bGotIt = false;
      const bWaits = b!.app.lockManager.acquire('ck:resource', 10_000).then((release) => {
        bGotIt = true;
        return release as unknown as (() => Promise<void>) & { fencingToken: number };
      });
      // B is still waiting while A holds the lock: its acquire settles only after A's release.
      await a!.app.lockManager.runExclusive('ck:other', async () => {}, 1_000);
      expect(bGotIt).toBe(false);
      await releaseA();
      const releaseB = await bWaits;
      expect(releaseB.fencingToken).toBeGreaterThan(releaseA.fencingToken);
      await releaseB();

      // runExclusive on both nodes never overlaps.
      let inside = 0;
      let overlaps = 0;
      const section = async () => {
        inside += 1;
        if (inside > 1) overlaps += 1;
        await new Promise((resolve) => setImmediate(resolve));
        inside -= 1;
      };
      await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          (i % 2 ? a! : b!).app.lockManager.runExclusive('ck:section', section, 2_000),
        ),
      );
      expect(overlaps).toBe(0);
    });

    it("a plugin's sync message from A reaches B's handleSyncMessage and not A's", async () => {
      const [a, b] = await start(2);
      await a!.probe.sendSyncMessage({ from: 'A', n: 1 });
      await vi.waitFor(() => expect(b!.probe.received).toEqual([{ from: 'A', n: 1 }]), DEADLINE);
      await b!.probe.sendSyncMessage({ from: 'B', n: 2 });
      await vi.waitFor(() => expect(a!.probe.received).toEqual([{ from: 'B', n: 2 }]), DEADLINE);
      expect(b!.probe.received).toEqual([{ from: 'A', n: 1 }]);
    });

    it('worker ids of the nodes differ, and NocoBase uses them', async () => {
      const [a, b] = await start(2);
      const ids = [a!.installation.workerId, b!.installation.workerId];
      expect(ids.every((id) => Number.isInteger(id) && id! >= 0 && id! < 32)).toBe(true);
      expect(ids[0]).not.toBe(ids[1]);
      expect([a!.app.instanceId, b!.app.instanceId]).toEqual(ids);
    });

    it('stopping both nodes is clean and leaves no keys or queues behind', async () => {
      const [a, b] = await start(2);
      for (const node of [a!, b!]) {
        node.app.eventQueue.subscribe('jobs', { idle: () => true, process: async () => {} });
      }
      await a!.app.eventQueue.publish('jobs', { n: 1 });
      await a!.app.lockManager.runExclusive('ck:held', async () => {}, 1_000);
      await b!.probe.sendSyncMessage({ n: 1 });
      await a!.stop();
      await b!.stop();
      expect(a!.installation.clusterkit.started).toBe(false);
      expect(b!.installation.clusterkit.started).toBe(false);
      expect(await redisLeftovers(prefix)).toEqual([]);
      if (backend.rabbit) {
        expect(await rabbitLeftovers(prefix)).toEqual([]);
        // The work queue of the channel stays (durable, empty); no per-node queue does.
        expect((await rabbitQueues(prefix)).map((queue) => queue.name)).toContain(
          `${prefix}.q.${a!.installation.clusterkit.name}:main.jobs`,
        );
      }
    });
  });
}
