/**
 * What a managed job's ticket costs on Redis beyond BullMQ's own work (the fused record+ticket add,
 * `lua/fused-create.ts`): a demoted ticket is sent with its demoted priority (no rewrite after the
 * add), concurrent adds that need the queue's flip to prioritized share one flip, and an
 * acknowledged ticket is not kept (the record is the job's history). Commands are observed with
 * MONITOR, filtered by this test's key prefix.
 */
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { demotedLevel } from '../../adapters/redis/ticket-priority-guess.js';
import { BACKLOG_THRESHOLD, physicalPriority } from '../../src/jobs/ticket-publisher.js';
import { counter, randomName, within } from '../helpers.js';
import { resolveRedisUrl } from '../conformance/redis-factory.js';
import { managedNodes } from './managed-nodes.js';

const target = await resolveRedisUrl();

describe('ticket priority guess: the demotion formula', () => {
  it('matches the job layer’s physicalPriority', () => {
    for (const base of [0, 1, 2, 5])
      for (let backlog = 1; backlog <= 5_000; backlog += 1)
        expect(demotedLevel(base, backlog, BACKLOG_THRESHOLD, 1_000)).toBe(physicalPriority(base, backlog));
    expect(demotedLevel(2, 5_000, BACKLOG_THRESHOLD, 4)).toBe(4);
    expect(demotedLevel(2, 5_000, Number.POSITIVE_INFINITY, 100)).toBe(2);
  });
});

describe.skipIf('skip' in target)(
  `redis: managed job tickets cost no more than needed${'skip' in target ? ` (skipped: ${target.skip})` : ''}`,
  () => {
    const nodes = managedNodes(target, 'cktc');
    const { prefix } = nodes;
    let monitor: Redis | undefined;
    /** Commands seen on this test's keys since `watch()`. */
    let seen: string[][] = [];

    const node = async (name: string, worker: boolean) => {
      const app = nodes.node(name, worker);
      await app.start();
      return app;
    };
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
    const count = (match: (args: string[]) => boolean) => seen.filter(match).length;

    // Runs before the nodes' teardown (after-hooks run in reverse order).
    afterAll(unwatch);

    it('sends a demoted ticket with its demoted priority: no rewrite after the add', async () => {
      const app = await node(randomName('guess'), false);
      const job = { pluginName: 'p', queueName: 'q', jobName: 'backlog' } as const;
      await watch();
      let last = '';
      for (let i = 0; i < 40; i += 1) last = (await app.managedQueue.enqueue({ ...job, payload: i })).jobId;
      await unwatch();
      // Jobs 17..40 are demoted (backlog beyond 16); a rewrite after the add reads the ticket's score
      // in `prioritized` (ZSCORE) to move it to the demoted level.
      expect(count((a) => a[0]?.toLowerCase() === 'zscore' && a[1]!.endsWith(':prioritized'))).toBe(0);
      // The ticket id holds the new record's random nonce: no acknowledged ticket to move out of its way.
      expect(count((a) => a[0]?.toLowerCase() === 'zscore' && a[1]!.endsWith(':completed'))).toBe(0);
      const keys = await nodes.raw.keys(`${prefix}*${last}|*`);
      const ticket = keys.find((k) => !k.endsWith(':lock') && !k.endsWith(':logs'));
      // Default level 2, backlog 40 → two doublings past 16 → level 4, BullMQ priority 5.
      expect(await nodes.raw.hget(ticket!, 'priority')).toBe(String(physicalPriority(2, 40) + 1));
    });

    it('flips the queue to prioritized once for concurrent adds that all need it', async () => {
      const app = await node(randomName('flip'), false);
      const job = { pluginName: 'p', queueName: 'q', jobName: 'burst' } as const;
      await watch();
      await Promise.all(Array.from({ length: 40 }, (_, i) => app.managedQueue.enqueue({ ...job, payload: i })));
      await unwatch();
      expect(count((a) => a[0]?.toLowerCase() === 'hsetnx' && a[2] === 'ck:prioritized')).toBe(1);
    });

    it('does not keep an acknowledged ticket; the record stays', async () => {
      const app = await node(randomName('ack'), true);
      const job = { pluginName: 'p', queueName: 'q', jobName: 'ack' } as const;
      const all = counter(3);
      await app.managedQueue.process({ ...job }, () => all.hit());
      const ids: string[] = [];
      for (let i = 0; i < 3; i += 1) ids.push((await app.managedQueue.enqueue({ ...job, payload: i })).jobId);
      await within(all.done, 10_000, 'the three jobs');
      for (const id of ids) await app.managedQueue.waitForJob(id, { timeoutMs: 10_000 });
      for (const id of ids) {
        expect((await app.managedQueue.jobStore.get(id))?.state).toBe('completed');
        // BullMQ removes the ticket's keys in the acknowledging script, which may land after the end event.
        await vi.waitFor(async () => expect(await nodes.raw.keys(`${prefix}*${id}|*`)).toEqual([]), { timeout: 5_000 });
      }
      let completed = 0;
      for (const key of await nodes.raw.keys(`${prefix}*:completed`)) completed += await nodes.raw.zcard(key);
      expect(completed).toBe(0);
    });
  },
);
