/**
 * A managed job's finish runs inside its ticket's acknowledgement on one Redis server (BullMQ's
 * `moveToFinished` fused with the job store's finish, `bull-ack-steps.ts`): no separate `jobFinish`
 * script call, and the ack happens whether or not the finish's owner check passed — a job taken
 * over by another node keeps the new owner's record, and its old ticket is done either way.
 */
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { JOB_FINISH } from '../../adapters/redis/lua/job-scripts.js';
import { counter, randomName, within } from '../helpers.js';
import { resolveRedisUrl } from '../conformance/redis-factory.js';
import { managedNodes } from './managed-nodes.js';

const target = await resolveRedisUrl();
const JOB = { pluginName: 'p', queueName: 'q', jobName: 'ackfuse' } as const;

describe.skipIf('skip' in target)(
  `redis: a managed job's finish runs in its ticket's ack${'skip' in target ? ` (skipped: ${target.skip})` : ''}`,
  () => {
    const nodes = managedNodes(target, 'ckaf');
    const { prefix } = nodes;
    let monitor: Redis | undefined;
    let seen: string[][] = [];
    const watch = async () => {
      seen = [];
      monitor = await nodes.raw.monitor();
      monitor.on('monitor', (_time: string, args: string[]) => {
        if (args.some((a) => typeof a === 'string' && a.startsWith(prefix))) seen.push(args);
      });
    };
    const unwatch = async () => {
      await monitor?.disconnect();
      monitor = undefined;
    };
    afterAll(unwatch);
    const finishes = () => seen.filter((a) => a[0]?.toLowerCase() === 'evalsha' && a[1] === JOB_FINISH.sha).length;
    const ticketGone = (id: string) =>
      vi.waitFor(async () => expect(await nodes.raw.keys(`${prefix}*${id}|*`)).toEqual([]), { timeout: 5_000 });

    it('completes a job with no separate jobFinish script call; waiters and events still hear the end', async () => {
      const app = nodes.node(randomName('done'), true);
      const all = counter(3);
      // A slot per job: none is parked (a parked job, started without its delivery, finishes on its own).
      await app.managedQueue.process({ ...JOB, concurrency: 4 }, (job) => {
        all.hit();
        return { doubled: (job.data as number) * 2 };
      });
      const events: string[] = [];
      app.managedQueue.on('job:completed', (info) => events.push(info.id));
      await app.start();
      await watch();
      const ids: string[] = [];
      for (let i = 0; i < 3; i += 1) ids.push((await app.managedQueue.enqueue({ ...JOB, payload: i })).jobId);
      const results = await Promise.all(ids.map((id) => app.managedQueue.waitForJob(id, { timeoutMs: 10_000 })));
      await within(all.done, 10_000, 'the three jobs');
      expect(results).toEqual([{ doubled: 0 }, { doubled: 2 }, { doubled: 4 }]);
      for (const id of ids) {
        const record = await app.managedQueue.jobStore.get(id);
        expect(record?.state).toBe('completed');
        expect(record?.owner).toBeUndefined();
        await ticketGone(id);
      }
      await vi.waitFor(() => expect(events.sort()).toEqual([...ids].sort()), { timeout: 5_000 });
      await unwatch();
      expect(finishes()).toBe(0);
    });

    it('acknowledges the ticket of a job taken over while it ran, and keeps the new owner’s record', async () => {
      const app = nodes.node(randomName('taken'), true);
      let release!: () => void;
      const running = new Promise<void>((resolve) => {
        void app.managedQueue.process({ ...JOB }, async () => {
          resolve();
          await new Promise<void>((r) => (release = r));
          return 'late';
        });
      });
      await app.start();
      const { jobId } = await app.managedQueue.enqueue({ ...JOB, payload: 1 });
      await within(running, 10_000, 'the job to start');
      // Another node took the generation over (as a claim with takeOverFrom does): it owns the record now.
      const [key] = (await nodes.raw.keys(`${prefix}*J:${jobId}`)).filter((k) => !k.includes('|'));
      expect(await nodes.raw.hget(key!, 'o')).toBe(app.nodeId);
      await nodes.raw.hset(key!, 'o', 'other-node');
      await watch();
      release();
      await ticketGone(jobId);
      const record = await app.managedQueue.jobStore.get(jobId);
      expect(record?.state).toBe('active');
      expect(record?.owner).toBe('other-node');
      expect(record?.returnValue).toBeUndefined();
      await unwatch();
      expect(finishes()).toBe(0);
      // The ticket is not waiting to be redelivered either.
      const counts = await app.eventQueue.counts(app.managedQueue.physicalChannel);
      expect(counts.waiting + counts.active + counts.delayed).toBe(0);
    });
  },
);
