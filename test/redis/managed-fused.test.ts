/**
 * Managed jobs on one Redis server: a job's record and its ticket are written by ONE script call
 * (`RedisJobStore.createWithTicket`, BullMQ's add wrapped with the record create), so no crash can
 * fall between them and no "ticket pending" confirmation follows.
 */
import { Redis } from 'ioredis';
import { describe, expect, it, vi } from 'vitest';
import { counter, randomName, within } from '../helpers.js';
import { resolveRedisUrl } from '../conformance/redis-factory.js';
import { managedNodes } from './managed-nodes.js';

const target = await resolveRedisUrl();
const JOB = { pluginName: 'p', queueName: 'q', jobName: 'fused' } as const;

describe.skipIf('skip' in target)(
  `redis: managed job record and ticket in one step${'skip' in target ? ` (skipped: ${target.skip})` : ''}`,
  () => {
    const nodes = managedNodes(target, 'ckf');
    const { prefix } = nodes;
    const name = randomName('fused');
    const node = async (worker: boolean) => nodes.node(name, worker);

    it('writes record and ticket without a separate publish: nothing is ever "ticket pending"', async () => {
      const producer = await node(false);
      await producer.start();
      // A separate publish of the ticket would hang here for ever (the two-step path's crash window).
      const publish = producer.eventQueue.publish.bind(producer.eventQueue);
      producer.eventQueue.publish = ((channel: string, message: unknown, options?: object) =>
        channel === producer.managedQueue.physicalChannel
          ? new Promise(() => {})
          : publish(channel, message, options)) as typeof producer.eventQueue.publish;
      const ids: string[] = [];
      for (let i = 0; i < 3; i += 1) {
        ids.push((await within(producer.managedQueue.enqueue({ ...JOB, payload: i }), 5_000, 'enqueue')).jobId);
      }
      // The id dedupe answers in the same step: the existing job, no second ticket.
      const again = await producer.managedQueue.enqueue({ ...JOB, jobId: 'same', payload: 'a' });
      await producer.managedQueue.enqueue({ ...JOB, jobId: 'same', payload: 'b' });
      ids.push(again.jobId);
      for (const id of ids) {
        expect((await producer.managedQueue.jobStore.get(id))?.ticketPendingSince).toBeUndefined();
      }
      const worker = await node(true);
      const ran: unknown[] = [];
      const all = counter(4);
      await worker.managedQueue.process({ ...JOB }, (job) => {
        ran.push(job.data);
        all.hit();
      });
      await worker.start();
      await within(all.done, 10_000, 'the four jobs');
      for (const id of ids) await worker.managedQueue.waitForJob(id, { timeoutMs: 10_000 });
      expect(ran.sort()).toEqual([0, 1, 2, 'a']);
    });

    it('a burst whose backlog turns the fresh queue prioritized costs one script call per job, no flip round trips', async () => {
      const appName = randomName('flip');
      const burst = nodes.node(appName, false);
      await burst.start();
      const send = vi.spyOn(Redis.prototype, 'sendCommand');
      try {
        // 60 at once: every one past the backlog threshold (16) is demoted while the queue is still plain.
        await Promise.all(
          Array.from({ length: 60 }, (_, i) => burst.managedQueue.enqueue({ ...JOB, jobName: 'burst', payload: i })),
        );
        // Script calls on the physical queue (every BullMQ add and the flip name its marker key).
        const calls = send.mock.calls.filter(([command]) => {
          const c = command as unknown as { name: string; args: unknown[] };
          return (
            (c.name === 'evalsha' || c.name === 'eval') &&
            c.args.some((a) => typeof a === 'string' && a.includes(appName) && a.endsWith(':marker'))
          );
        });
        expect(calls.length).toBe(60);
      } finally {
        send.mockRestore();
      }
      expect((await burst.eventQueue.counts(burst.managedQueue.physicalChannel)).waiting).toBe(60);
      // Turned prioritized for good: every ticket, the 16 plain ones lifted by the flip included, is in the prioritized set.
      const [meta] = await nodes.raw.keys(`${prefix}*${appName}*:meta`);
      expect(await nodes.raw.hget(meta!, 'ck:prioritized')).toBe('1');
      expect(await nodes.raw.zcard(meta!.replace(/:meta$/, ':prioritized'))).toBe(60);
    });
  },
);
