/**
 * The event queue behaves as NocoBase code expects, through NocoBase's own `app.eventQueue`:
 * publish options reach handlers as `queueOptions`; no retry unless asked, then 500 ms between
 * tries; `timeout` (15 s unless told) aborts the handler's signal; `concurrency <= 0` is unlimited;
 * `idle()` is asked once per read and a read takes up to `concurrency` messages; a second
 * subscription is ignored with a warning. And clusterkit's extras through the same call: dead
 * letters, durable delays, priorities, idempotent job ids.
 */
import type { Logger } from 'clusterkit';
import { ClusterkitEventQueueAdapter } from 'clusterkit/nocobase';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { cleanBrokers } from './broker-state.js';
import { redisBackend, startNode, type NodeOptions, type TestNode } from './nocobase-node.js';
import { useDatabase, randomName } from './services.js';

const DEADLINE = { timeout: 20_000, interval: 20 };
type Ctx = { id?: string; retried?: number; signal?: AbortSignal; queueOptions?: Record<string, unknown> };

/** A logger that keeps what it was told. */
function recordingLogger(): Logger & { lines: { level: string; message: string }[] } {
  const lines: { level: string; message: string }[] = [];
  const log = (level: string) => (message: string) => void lines.push({ level, message });
  return { lines, debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') };
}

describe('the NocoBase event queue on clusterkit', () => {
  const db = useDatabase();
  let prefix = '';
  let nodes: TestNode[] = [];
  afterEach(async () => {
    await Promise.allSettled(nodes.map((node) => node.stop()));
    nodes = [];
    await cleanBrokers(prefix, false);
  });

  const node = async (bridge?: NodeOptions['bridge']) => {
    prefix ||= randomName('ckn');
    const started = await startNode({ database: db().name, backend: redisBackend, prefix, cluster: prefix, bridge });
    nodes.push(started);
    return started;
  };
  afterEach(() => {
    prefix = '';
  });

  it('hands the handler { id, retried, signal, queueOptions } with the publish options and NocoBase’s 15 s timeout', async () => {
    const { app } = await node();
    const seen: { message: unknown; ctx: Ctx }[] = [];
    app.eventQueue.subscribe('opts', {
      idle: () => true,
      process: async (message, ctx) => void seen.push({ message, ctx }),
    });
    await app.eventQueue.publish('opts', { n: 1 });
    await app.eventQueue.publish('opts', { n: 2 }, { timeout: 5_000, maxRetries: 0, custom: 'kept' } as never);
    await vi.waitFor(() => expect(seen).toHaveLength(2), DEADLINE);
    const [first, second] = [...seen].sort((x, y) => (x.message as { n: number }).n - (y.message as { n: number }).n);
    expect(first!.ctx.id).toEqual(expect.any(String));
    expect(first!.ctx.retried).toBe(0);
    expect(first!.ctx.signal).toBeInstanceOf(AbortSignal);
    expect(first!.ctx.queueOptions).toEqual({ timeout: 15_000, timestamp: expect.any(Number), retried: 0 });
    expect(second!.ctx.queueOptions).toEqual({
      timeout: 5_000,
      maxRetries: 0,
      custom: 'kept',
      timestamp: expect.any(Number),
      retried: 0,
    });
  });

  it('does not retry unless asked; the failure is dead-lettered (clusterkit) instead of only logged', async () => {
    const { app, installation } = await node();
    let runs = 0;
    app.eventQueue.subscribe('fail-once', {
      idle: () => true,
      process: async () => {
        runs += 1;
        throw new Error('boom');
      },
    });
    await app.eventQueue.publish('fail-once', { n: 1 });
    const channel = app.eventQueue.getFullChannel('fail-once');
    await vi.waitFor(async () => {
      const dead = await installation.clusterkit.eventQueue.listDeadLetters(channel);
      expect(dead.map((letter) => [letter.attempt, letter.error.message])).toEqual([[1, 'boom']]);
    }, DEADLINE);
    expect(runs).toBe(1);
    // Re-driven, it runs again (and fails again: one more dead letter, one more run).
    expect(await installation.clusterkit.eventQueue.redrive(channel)).toBe(1);
    await vi.waitFor(() => expect(runs).toBe(2), DEADLINE);
  });

  it('retries maxRetries times, 500 ms apart, telling the handler how often it was retried', async () => {
    const { app } = await node();
    const attempts: { retried: number; at: number; fromOptions: unknown }[] = [];
    app.eventQueue.subscribe('retry', {
      idle: () => true,
      process: async (_message, ctx: Ctx) => {
        attempts.push({ retried: ctx.retried!, at: performance.now(), fromOptions: ctx.queueOptions?.retried });
        if (attempts.length < 3) throw new Error('not yet');
      },
    });
    await app.eventQueue.publish('retry', { n: 1 }, { maxRetries: 2 });
    await vi.waitFor(() => expect(attempts).toHaveLength(3), DEADLINE);
    expect(attempts.map((a) => [a.retried, a.fromOptions])).toEqual([
      [0, 0],
      [1, 1],
      [2, 2],
    ]);
    for (let i = 1; i < attempts.length; i++) {
      expect(attempts[i]!.at - attempts[i - 1]!.at).toBeGreaterThanOrEqual(450);
    }
  });

  it('timeout aborts the signal and the handler decides (NocoBase); timeoutFailsAttempt makes it a failure (clusterkit)', async () => {
    const lenient = await node();
    const outcomes: string[] = [];
    const waitForAbort = async (_message: unknown, ctx: Ctx) => {
      await new Promise<void>((resolve) => ctx.signal!.addEventListener('abort', () => resolve(), { once: true }));
      outcomes.push(`aborted: ${(ctx.signal!.reason as Error).name}`);
    };
    lenient.app.eventQueue.subscribe('slow', { idle: () => true, process: waitForAbort });
    await lenient.app.eventQueue.publish('slow', { n: 1 }, { timeout: 200 });
    await vi.waitFor(() => expect(outcomes).toEqual(['aborted: TimeoutError']), DEADLINE);
    const channel = lenient.app.eventQueue.getFullChannel('slow');
    await vi.waitFor(async () => {
      expect(await lenient.installation.clusterkit.eventQueue.counts(channel)).toMatchObject({ active: 0, dead: 0 });
    }, DEADLINE);
    await lenient.stop();

    const strict = await node({ eventQueue: { timeoutFailsAttempt: true } });
    strict.app.eventQueue.subscribe('slow', { idle: () => true, process: waitForAbort });
    await strict.app.eventQueue.publish('slow', { n: 2 }, { timeout: 200 });
    await vi.waitFor(async () => {
      const dead = await strict.installation.clusterkit.eventQueue.listDeadLetters(channel);
      expect(dead.map((letter) => letter.error.code)).toEqual(['QUEUE_TIMEOUT']);
    }, DEADLINE);
  });

  it('concurrency <= 0 is unlimited: 30 blocked handlers all run at once', async () => {
    const { app } = await node();
    let running = 0;
    let peak = 0;
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    app.eventQueue.subscribe('wide', {
      idle: () => true,
      concurrency: 0,
      process: async () => {
        running += 1;
        peak = Math.max(peak, running);
        await gate;
        running -= 1;
      },
    });
    for (let n = 0; n < 30; n++) await app.eventQueue.publish('wide', { n });
    await vi.waitFor(() => expect(running).toBe(30), DEADLINE);
    release();
    await vi.waitFor(() => expect(running).toBe(0), DEADLINE);
    expect(peak).toBe(30);
  });

  it('idle() is asked once per read, and one read takes up to `concurrency` messages', async () => {
    const { app } = await node();
    let grants = 1;
    let running = 0;
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let open = false;
    app.eventQueue.subscribe('gated', {
      concurrency: 3,
      interval: 50,
      // Closed until the messages are queued; then yes exactly once, no afterwards.
      idle: () => {
        if (!open) return false;
        return grants-- > 0;
      },
      process: async () => {
        running += 1;
        await gate;
      },
    });
    for (let n = 0; n < 3; n++) await app.eventQueue.publish('gated', { n });
    expect(running).toBe(0);
    open = true;
    await vi.waitFor(() => expect(running).toBe(3), DEADLINE);
    // One "yes" let the whole read of 3 through: it was not asked once per message.
    expect(grants).toBe(0);
    release();
  });

  it('a second subscription of a channel is ignored with a warning (NocoBase’s manager and the bridge’s adapter alike)', async () => {
    const logger = recordingLogger();
    const { app } = await node({ logger });
    const handled: string[] = [];
    app.eventQueue.subscribe('twice', { idle: () => true, process: async () => void handled.push('first') });
    app.eventQueue.subscribe('twice', { idle: () => true, process: async () => void handled.push('second') });
    await app.eventQueue.publish('twice', { n: 1 });
    await vi.waitFor(() => expect(handled).toEqual(['first']), DEADLINE);

    // A host wiring the adapter by hand gets NocoBase's rule from the adapter itself.
    const adapter = (app.eventQueue as unknown as { adapter: ClusterkitEventQueueAdapter }).adapter;
    expect(adapter).toBeInstanceOf(ClusterkitEventQueueAdapter);
    const full = app.eventQueue.getFullChannel('twice');
    adapter.subscribe(full, { idle: () => true, process: async () => void handled.push('third') });
    expect(logger.lines).toContainEqual({
      level: 'warn',
      message: `event queue already subscribed on channel "${full}", new subscription will be ignored`,
    });
    await app.eventQueue.publish('twice', { n: 2 });
    await vi.waitFor(() => expect(handled).toEqual(['first', 'first']), DEADLINE);
  });

  it('clusterkit extras ride on publish options: durable delay, priority, idempotent jobId', async () => {
    const { app } = await node();
    const order: string[] = [];
    let open = false;
    app.eventQueue.subscribe('extras', {
      idle: () => open,
      interval: 50,
      process: async (message: { tag: string }) => void order.push(message.tag),
    });
    const publishedAt = performance.now();
    let ranAt = 0;
    app.eventQueue.subscribe('later', { idle: () => true, process: async () => void (ranAt = performance.now()) });
    await app.eventQueue.publish('later', { n: 1 }, { delay: 400 } as never);
    await app.eventQueue.publish('extras', { tag: 'low' }, { priority: 3 } as never);
    await app.eventQueue.publish('extras', { tag: 'urgent' }, { priority: 0 } as never);
    await app.eventQueue.publish('extras', { tag: 'once' }, { jobId: 'only-once', priority: 1 } as never);
    await app.eventQueue.publish('extras', { tag: 'once again' }, { jobId: 'only-once', priority: 1 } as never);
    open = true;
    await vi.waitFor(() => expect(order).toEqual(['urgent', 'once', 'low']), DEADLINE);
    await vi.waitFor(() => expect(ranAt).toBeGreaterThan(0), DEADLINE);
    expect(ranAt - publishedAt).toBeGreaterThanOrEqual(390);
  });
});
