/**
 * Event-queue conformance: the public API of `app.eventQueue`, run unchanged on every backend,
 * several nodes per test. Cases that need a capability skip by `app.eventQueue.capabilities`.
 *
 * No fixed sleeps: every wait is on an event (a handler call, a deferred) or a polled condition
 * with a deadline. To prove something did NOT happen, a later marker is awaited first.
 */
import { appScopedName, ErrorCodes, UnrecoverableError, type App, type EventQueueProcessContext } from 'clusterkit/adapter-kit';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { counter, deferred, randomName, within } from '../helpers.js';
import type { ClusterFactory, TestCluster } from './cluster.js';

const DEADLINE_MS = 10_000;
const waitOpts = { timeout: DEADLINE_MS, interval: 20 };
/** Small fixed backoff so retry cases finish quickly on every backend. */
const FAST_RETRY = { type: 'fixed', delay: 10 } as const;

/** Resolves when `signal` aborts. */
function aborted(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
}

/** Runs the event-queue conformance cases against `factory`'s backend. */
export function eventQueueSuite(factory: ClusterFactory): void {
  describe(`event queue conformance (${factory.label})`, () => {
    let cluster: TestCluster;
    let channel: string;

    beforeEach(() => {
      cluster = factory.create();
      channel = randomName('q');
    });
    afterEach(async () => {
      await cluster.dispose();
    });

    /** Starts `n` nodes of the cluster. */
    async function nodes(n: number): Promise<App[]> {
      const apps = Array.from({ length: n }, () => cluster.node());
      await Promise.all(apps.map((app) => app.start()));
      return apps;
    }

    /** Waits until `channel` of `app` has exactly `n` dead letters, and returns them. */
    async function deadLetters(app: App, n: number, ch = channel) {
      return vi.waitFor(async () => {
        const letters = await app.eventQueue.listDeadLetters(ch);
        expect(letters).toHaveLength(n);
        return letters;
      }, waitOpts);
    }

    it('hands each message to exactly one of several competing nodes', async () => {
      const apps = await nodes(3);
      const total = 30;
      const seen = new Map<number, number>();
      const all = counter(total);
      for (const app of apps) {
        await app.eventQueue.subscribe<{ n: number }>(channel, {
          concurrency: 2,
          process(message) {
            seen.set(message.n, (seen.get(message.n) ?? 0) + 1);
            all.hit();
          },
        });
      }
      for (let n = 0; n < total; n++) await apps[n % 3]!.eventQueue.publish(channel, { n });
      await within(all.done, DEADLINE_MS, `${total} messages handled`);
      expect([...seen.keys()].sort((a, b) => a - b)).toEqual(Array.from({ length: total }, (_, i) => i));
      expect([...seen.values()].every((times) => times === 1)).toBe(true);
      await vi.waitFor(async () => {
        expect(await apps[0]!.eventQueue.counts(channel)).toMatchObject({ waiting: 0, active: 0, dead: 0 });
      }, waitOpts);
    });

    it('runs at most `concurrency` handlers per node, and reaches it', async () => {
      const apps = await nodes(2);
      const perNode = 3;
      const running = [0, 0];
      const max = [0, 0];
      const full = deferred();
      const release = deferred();
      const done = counter(12);
      for (const [i, app] of apps.entries()) {
        await app.eventQueue.subscribe(channel, {
          concurrency: perNode,
          async process() {
            running[i]! += 1;
            max[i] = Math.max(max[i]!, running[i]!);
            if (running[0] === perNode && running[1] === perNode) full.resolve();
            await release.promise;
            running[i]! -= 1;
            done.hit();
          },
        });
      }
      for (let n = 0; n < 12; n++) await apps[0]!.eventQueue.publish(channel, n);
      await within(full.promise, DEADLINE_MS, 'both nodes running at full concurrency');
      release.resolve();
      await within(done.done, DEADLINE_MS, 'all 12 handled');
      expect(max).toEqual([perNode, perNode]);
    });

    it('retries a failing message up to maxRetries, dead-letters it, and re-drives it', async () => {
      const [publisher, worker] = await nodes(2);
      let failing = true;
      const attempts: number[] = [];
      const handled = deferred<EventQueueProcessContext>();
      await worker!.eventQueue.subscribe(channel, {
        process(_message, ctx) {
          attempts.push(ctx.retried);
          if (failing) throw new Error(`boom ${ctx.retried}`);
          handled.resolve(ctx);
        },
      });
      const { id } = await publisher!.eventQueue.publish(channel, { order: 7 }, { maxRetries: 2, backoff: FAST_RETRY });

      const [letter] = await deadLetters(publisher!, 1);
      expect(attempts).toEqual([0, 1, 2]);
      expect(letter).toMatchObject({ id, message: { order: 7 }, attempt: 3 });
      expect(letter!.error.message).toBe('boom 2');
      expect(typeof letter!.failedAt).toBe('number');

      failing = false;
      expect(await publisher!.eventQueue.redrive(channel)).toBe(1);
      const ctx = await within(handled.promise, DEADLINE_MS, 're-driven message handled');
      expect(ctx).toMatchObject({ id, retried: 0 });
      expect(await publisher!.eventQueue.listDeadLetters(channel)).toEqual([]);
    });

    it('dead-letters at once on UnrecoverableError or retryable: false', async () => {
      const [a, b] = await nodes(2);
      const calls: string[] = [];
      await b!.eventQueue.subscribe<string>(channel, {
        process(message) {
          calls.push(message);
          if (message === 'unrecoverable') throw new UnrecoverableError('bad data');
          throw Object.assign(new Error('denied'), { retryable: false });
        },
      });
      await a!.eventQueue.publish(channel, 'unrecoverable', { maxRetries: 5, backoff: FAST_RETRY });
      await a!.eventQueue.publish(channel, 'plain', { maxRetries: 5, backoff: FAST_RETRY });
      const letters = await deadLetters(a!, 2);
      expect(calls.sort()).toEqual(['plain', 'unrecoverable']);
      const byMessage = new Map(letters.map((l) => [l.message, l]));
      expect(byMessage.get('unrecoverable')).toMatchObject({ attempt: 1, error: { code: ErrorCodes.UNRECOVERABLE } });
      expect(byMessage.get('plain')).toMatchObject({ attempt: 1, error: { message: 'denied' } });
    });

    it('aborts the signal at the timeout and counts the attempt as failed (QUEUE_TIMEOUT)', async () => {
      const [a, b] = await nodes(2);
      const reasons: unknown[] = [];
      await b!.eventQueue.subscribe(channel, {
        async process(_message, { signal }) {
          await aborted(signal);
          reasons.push((signal.reason as { code?: string }).code);
          // Returning normally after the timeout does not rescue the attempt.
        },
      });
      await a!.eventQueue.publish(channel, 'slow', { timeout: 100, maxRetries: 1, backoff: FAST_RETRY });
      const [letter] = await deadLetters(a!, 1);
      expect(reasons).toEqual([ErrorCodes.QUEUE_TIMEOUT, ErrorCodes.QUEUE_TIMEOUT]);
      expect(letter).toMatchObject({ message: 'slow', attempt: 2, error: { code: ErrorCodes.QUEUE_TIMEOUT } });
    });

    it('does not start a delayed message before it is due', async (ctx) => {
      const [a, b] = await nodes(2);
      if (!a!.eventQueue.capabilities.delay) return ctx.skip();
      const delay = 300;
      const started = new Map<string, number>();
      const both = counter(2);
      await b!.eventQueue.subscribe<string>(channel, {
        process(message) {
          started.set(message, Date.now());
          both.hit();
        },
      });
      const publishedAt = Date.now();
      await a!.eventQueue.publish(channel, 'later', { delay });
      await a!.eventQueue.publish(channel, 'now');
      await within(both.done, DEADLINE_MS, 'both messages handled');
      expect(started.get('later')! - publishedAt).toBeGreaterThanOrEqual(delay);
      expect(started.get('now')!).toBeLessThanOrEqual(started.get('later')!);
    });

    it('runs queued messages by priority, equal priorities in publish order', async (ctx) => {
      const [a, b] = await nodes(2);
      if (!a!.eventQueue.capabilities.priority) return ctx.skip();
      const published: [string, number][] = [
        ['low-1', 3],
        ['normal-1', 2],
        ['urgent-1', 0],
        ['high-1', 1],
        ['normal-2', 2],
        ['urgent-2', 0],
        ['lowest', 9],
        ['default', -1],
      ];
      for (const [name, priority] of published) {
        await a!.eventQueue.publish(channel, name, priority < 0 ? {} : { priority });
      }
      const order: string[] = [];
      const all = counter(published.length);
      await b!.eventQueue.subscribe<string>(channel, {
        process(message) {
          order.push(message);
          all.hit();
        },
      });
      await within(all.done, DEADLINE_MS, 'all handled');
      expect(order).toEqual(['urgent-1', 'urgent-2', 'high-1', 'normal-1', 'normal-2', 'default', 'low-1', 'lowest']);
    });

    it('keeps the order when other priorities appear behind default-priority messages, from any node', async (ctx) => {
      const [a, b, worker] = await nodes(3);
      if (!a!.eventQueue.capabilities.priority) return ctx.skip();
      // a and b first publish only the default priority; then a publishes an urgent one, and b (which
      // has not published anything else) publishes default messages after it.
      await a!.eventQueue.publish(channel, 'default-1');
      await b!.eventQueue.publish(channel, 'default-2');
      await a!.eventQueue.publish(channel, 'default-3', { priority: 2 });
      await a!.eventQueue.publish(channel, 'urgent-1', { priority: 0 });
      await b!.eventQueue.publish(channel, 'default-4');
      await b!.eventQueue.publish(channel, 'low-1', { priority: 5 });
      await b!.eventQueue.publish(channel, 'default-5');
      await a!.eventQueue.publish(channel, 'high-1', { priority: 1 });
      await b!.eventQueue.publish(channel, 'urgent-2', { priority: 0 });
      const order: string[] = [];
      const all = counter(9);
      await worker!.eventQueue.subscribe<string>(channel, {
        process(message) {
          order.push(message);
          all.hit();
        },
      });
      await within(all.done, DEADLINE_MS, 'all handled');
      expect(order).toEqual([
        'urgent-1',
        'urgent-2',
        'high-1',
        'default-1',
        'default-2',
        'default-3',
        'default-4',
        'default-5',
        'low-1',
      ]);
    });

    it('retries a default-priority message behind urgent ones published while it ran', async (ctx) => {
      const [a, worker] = await nodes(2);
      if (!a!.eventQueue.capabilities.priority) return ctx.skip();
      const order: string[] = [];
      const running = deferred();
      const release = deferred();
      const all = counter(4);
      await worker!.eventQueue.subscribe<string>(channel, {
        concurrency: 1,
        async process(message, { retried }) {
          order.push(`${message}#${retried}`);
          all.hit();
          if (message === 'default-1' && retried === 0) {
            running.resolve();
            await release.promise;
            throw new Error('first attempt fails');
          }
        },
      });
      await a!.eventQueue.publish(channel, 'default-1', { maxRetries: 1, backoff: 0 });
      await within(running.promise, DEADLINE_MS, 'default-1 running');
      await a!.eventQueue.publish(channel, 'urgent-1', { priority: 0 });
      await a!.eventQueue.publish(channel, 'default-2');
      release.resolve();
      await within(all.done, DEADLINE_MS, 'all handled');
      expect(order).toEqual(['default-1#0', 'urgent-1#0', 'default-2#0', 'default-1#1']);
    });

    it('keeps priority order for messages waiting on a full handler', async (ctx) => {
      const [a, b] = await nodes(2);
      if (!a!.eventQueue.capabilities.priority) return ctx.skip();
      const order: string[] = [];
      const busy = deferred();
      const release = deferred();
      const all = counter(4);
      await b!.eventQueue.subscribe<string>(channel, {
        concurrency: 1,
        async process(message) {
          order.push(message);
          if (message === 'first') {
            busy.resolve();
            await release.promise;
          }
          all.hit();
        },
      });
      await a!.eventQueue.publish(channel, 'first');
      await within(busy.promise, DEADLINE_MS, 'first message running');
      await a!.eventQueue.publish(channel, 'low', { priority: 3 });
      await a!.eventQueue.publish(channel, 'normal', { priority: 2 });
      await a!.eventQueue.publish(channel, 'urgent', { priority: 0 });
      release.resolve();
      await within(all.done, DEADLINE_MS, 'all handled');
      expect(order).toEqual(['first', 'urgent', 'normal', 'low']);
    });

    it('queues without a local subscriber; a subscriber that starts later on another node gets it', async () => {
      const [publisher] = await nodes(1);
      const { id } = await publisher!.eventQueue.publish(channel, { hello: 'later' });
      const late = cluster.node();
      const got = deferred<[unknown, string]>();
      // Subscribed before start: takes effect on start.
      await late.eventQueue.subscribe(channel, {
        process: (message, { id: got_id }) => got.resolve([message, got_id]),
      });
      await late.start();
      expect(await within(got.promise, DEADLINE_MS, 'late subscriber receives')).toEqual([{ hello: 'later' }, id]);
    });

    it('treats a repeated jobId as a no-op while the first is queued or running', async (ctx) => {
      const [a, b] = await nodes(2);
      if (!a!.eventQueue.capabilities.uniqueIds)
        return ctx.skip('the adapter does not deduplicate ids (uniqueIds: false)');
      const jobId = randomName('job');
      expect(await a!.eventQueue.publish(channel, 'first', { jobId })).toEqual({ id: jobId });
      expect(await b!.eventQueue.publish(channel, 'queued duplicate', { jobId })).toEqual({ id: jobId });
      const seen: string[] = [];
      const running = deferred();
      const release = deferred();
      const marker = deferred();
      await b!.eventQueue.subscribe<string>(channel, {
        async process(message) {
          seen.push(message);
          if (message === 'first') {
            running.resolve();
            await release.promise;
          }
          if (message === 'marker') marker.resolve();
        },
      });
      await within(running.promise, DEADLINE_MS, 'first running');
      expect(await a!.eventQueue.publish(channel, 'active duplicate', { jobId })).toEqual({ id: jobId });
      release.resolve();
      await a!.eventQueue.publish(channel, 'marker');
      await within(marker.promise, DEADLINE_MS, 'marker handled');
      expect(seen).toEqual(['first', 'marker']);
    });

    it('lets a jobId be used again once its message was acknowledged or its dead letter deleted', async () => {
      const [a, b] = await nodes(2);
      const jobId = randomName('job');
      const handled: string[] = [];
      let next = deferred<string>();
      await b!.eventQueue.subscribe<string>(channel, {
        process(message) {
          handled.push(message);
          if (message.startsWith('fail')) throw new UnrecoverableError('dead on purpose');
          next.resolve(message);
        },
      });
      const settled = () =>
        vi.waitFor(async () => {
          expect(await a!.eventQueue.counts(channel)).toMatchObject({ waiting: 0, delayed: 0, active: 0 });
        }, waitOpts);
      for (const round of ['first', 'second', 'third']) {
        expect(await a!.eventQueue.publish(channel, round, { jobId })).toEqual({ id: jobId });
        expect(await within(next.promise, DEADLINE_MS, `${round} handled`)).toBe(round);
        next = deferred<string>();
        await settled();
      }
      // A dead letter keeps its id until it is deleted; then the id is free again.
      await a!.eventQueue.publish(channel, 'fail', { jobId });
      await deadLetters(a!, 1);
      expect(await a!.eventQueue.deleteDeadLetters(channel, [jobId])).toBe(1);
      await a!.eventQueue.publish(channel, 'after dead letter', { jobId });
      expect(await within(next.promise, DEADLINE_MS, 'handled after the dead letter was deleted')).toBe(
        'after dead letter',
      );
      expect(handled).toEqual(['first', 'second', 'third', 'fail', 'after dead letter']);
    });

    it('drains in-flight work on graceful stop; un-started messages go to another node', async () => {
      const [a] = await nodes(1);
      const handledBy = new Map<number, string[]>();
      const all = counter(5);
      const record = (node: string, n: number) => {
        handledBy.set(n, [...(handledBy.get(n) ?? []), node]);
        all.hit();
      };
      const running = deferred<number>();
      const release = deferred();
      await a!.eventQueue.subscribe<number>(channel, {
        async process(n) {
          if (handledBy.size === 0) {
            running.resolve(n);
            await release.promise;
          }
          record('a', n);
        },
      });
      for (let n = 0; n < 5; n++) await a!.eventQueue.publish(channel, n);
      const inFlight = await within(running.promise, DEADLINE_MS, 'a running a message');
      const stopping = a!.stop();
      await vi.waitFor(() => expect(a!.eventQueue.isConnected()).toBe(false), waitOpts);
      release.resolve();
      await within(stopping, DEADLINE_MS, 'a stopped');
      // The message in flight at stop was finished by a, not abandoned.
      expect(handledBy.get(inFlight)).toEqual(['a']);

      const b = cluster.node();
      await b.eventQueue.subscribe<number>(channel, { process: (n) => record('b', n) });
      await b.start();
      await within(all.done, DEADLINE_MS, 'b handles the rest');
      expect([...handledBy.keys()].sort()).toEqual([0, 1, 2, 3, 4]);
      expect([...handledBy.values()].every((by) => by.length === 1)).toBe(true);
      expect([...handledBy.values()].flat()).toContain('b');
    });

    it('hands back, unspent, a message whose handler fails after the shutdown abort', async () => {
      const a = cluster.node({ stopGracePeriodMs: 50 });
      const running = deferred();
      await a.eventQueue.subscribe(channel, {
        async process(_message, { signal }) {
          running.resolve();
          await aborted(signal);
          throw signal.reason;
        },
      });
      await a.start();
      await a.eventQueue.publish(channel, 'keep me', { maxRetries: 0 });
      await within(running.promise, DEADLINE_MS, 'a running');
      await within(a.stop(), DEADLINE_MS, 'a stopped');

      const [b] = await nodes(1);
      const got = deferred<[unknown, number]>();
      await b!.eventQueue.subscribe(channel, { process: (message, ctx) => got.resolve([message, ctx.retried]) });
      expect(await within(got.promise, DEADLINE_MS, 'b receives the handed-back message')).toEqual(['keep me', 0]);
    });

    it('waits for in-flight handlers on unsubscribe and takes no more', async () => {
      const [a, b] = await nodes(2);
      const running = deferred();
      const release = deferred();
      const events: string[] = [];
      await a!.eventQueue.subscribe<string>(channel, {
        async process(message) {
          running.resolve();
          await release.promise;
          events.push(`handled ${message}`);
        },
      });
      await b!.eventQueue.publish(channel, 'one');
      await within(running.promise, DEADLINE_MS, 'one running');
      const unsubscribed = a!.eventQueue.unsubscribe(channel).then(() => events.push('unsubscribed'));
      release.resolve();
      await within(unsubscribed, DEADLINE_MS, 'unsubscribe resolves');
      expect(events).toEqual(['handled one', 'unsubscribed']);
      await b!.eventQueue.publish(channel, 'two');
      const got = deferred<unknown>();
      await b!.eventQueue.subscribe(channel, { process: (message) => got.resolve(message) });
      expect(await within(got.promise, DEADLINE_MS, 'b gets two')).toBe('two');
      expect(events).toEqual(['handled one', 'unsubscribed']);
    });

    it('takes nothing while idle() returns false', async () => {
      const [a, b] = await nodes(2);
      let open = false;
      let checks = 0;
      const checkedTwice = deferred();
      let published = false;
      const all = counter(3);
      await b!.eventQueue.subscribe(channel, {
        idle: () => {
          if (published && ++checks >= 2) checkedTwice.resolve();
          return open;
        },
        process: () => all.hit(),
      });
      for (let n = 0; n < 3; n++) await a!.eventQueue.publish(channel, n);
      published = true;
      await within(checkedTwice.promise, DEADLINE_MS, 'gate consulted with messages waiting');
      expect(all.value).toBe(0);
      open = true;
      await within(all.done, DEADLINE_MS, 'all handled once the gate opens');
    });

    it('asks a closed idle() gate again as soon as a local delivery settles, not at the next interval', async () => {
      const [a, b] = await nodes(2);
      const jobs = 5;
      const workMs = 600;
      let inFlight = 0;
      const spans: [number, number][] = [];
      const all = counter(jobs);
      for (let n = 0; n < jobs; n++) await a!.eventQueue.publish(channel, n);
      await b!.eventQueue.subscribe(channel, {
        concurrency: jobs,
        // "Nothing in flight": one job at a time. The interval is long on purpose: only the re-check on
        // settle can start the next job quickly.
        interval: 5_000,
        idle: () => inFlight === 0,
        async process() {
          inFlight += 1;
          const started = performance.now();
          await new Promise((resolve) => setTimeout(resolve, workMs)); // the job's work, not a wait for an event
          spans.push([started, performance.now()]);
          inFlight -= 1;
          all.hit();
        },
      });
      await within(all.done, DEADLINE_MS * 2, `${jobs} gated jobs handled`);
      spans.sort((x, y) => x[0] - y[0]);
      const gaps = spans.slice(1).map(([start], i) => start - spans[i]![1]);
      console.info(
        `[measured] ${factory.label}: ${jobs} × ${workMs} ms behind the gate in ${Math.round(spans.at(-1)![1] - spans[0]![0])} ms; gaps ${gaps.map(Math.round).join(', ')} ms`,
      );
      expect(Math.min(...gaps)).toBeGreaterThanOrEqual(0); // never two at once
      expect(Math.max(...gaps)).toBeLessThan(1_000); // the next job starts on settle, not 5 s later
    });

    it('isolates apps with different names on one backend', async () => {
      const shop = cluster.node();
      const blog = cluster.node({ name: randomName('other') });
      const got = { shop: [] as string[], blog: [] as string[] };
      const all = counter(6);
      for (const [name, app] of [
        ['shop', shop],
        ['blog', blog],
      ] as const) {
        await app.eventQueue.subscribe<string>(channel, {
          process(message) {
            got[name].push(message);
            all.hit();
          },
        });
        await app.start();
      }
      for (let n = 0; n < 3; n++) {
        await shop.eventQueue.publish(channel, `shop-${n}`);
        await blog.eventQueue.publish(channel, `blog-${n}`);
      }
      await within(all.done, DEADLINE_MS, 'six messages handled');
      expect(got.shop.sort()).toEqual(['shop-0', 'shop-1', 'shop-2']);
      expect(got.blog.sort()).toEqual(['blog-0', 'blog-1', 'blog-2']);
    });

    it('refuses bad input at the call, before anything is queued', async () => {
      const app = cluster.node({ maxPayloadBytes: 1024 });
      await expect(app.eventQueue.publish(channel, 1)).rejects.toMatchObject({ code: ErrorCodes.NOT_CONNECTED });
      await app.start();
      const cyclic: Record<string, unknown> = {};
      cyclic.self = cyclic;
      const q = app.eventQueue;
      const process = () => {};
      const cases: [string, () => Promise<unknown>, string][] = [
        ['empty channel', () => q.publish('', 1), ErrorCodes.INVALID_NAME],
        ['padded channel', () => q.publish(' x', 1), ErrorCodes.INVALID_NAME],
        ['control character', () => q.publish('a\nb', 1), ErrorCodes.INVALID_NAME],
        ['function payload', () => q.publish(channel, () => 1), ErrorCodes.INVALID_PAYLOAD],
        ['BigInt payload', () => q.publish(channel, { n: 1n }), ErrorCodes.INVALID_PAYLOAD],
        ['cyclic payload', () => q.publish(channel, cyclic), ErrorCodes.INVALID_PAYLOAD],
        ['undefined payload', () => q.publish(channel, undefined), ErrorCodes.INVALID_PAYLOAD],
        ['NaN payload', () => q.publish(channel, { n: NaN }), ErrorCodes.INVALID_PAYLOAD],
        ['payload over the limit', () => q.publish(channel, 'x'.repeat(2048)), ErrorCodes.PAYLOAD_TOO_LARGE],
        ['maxRetries < 0', () => q.publish(channel, 1, { maxRetries: -1 }), ErrorCodes.INVALID_OPTION],
        ['fractional maxRetries', () => q.publish(channel, 1, { maxRetries: 1.5 }), ErrorCodes.INVALID_OPTION],
        ['timeout 0', () => q.publish(channel, 1, { timeout: 0 }), ErrorCodes.INVALID_OPTION],
        ['negative delay', () => q.publish(channel, 1, { delay: -1 }), ErrorCodes.INVALID_OPTION],
        ['NaN delay', () => q.publish(channel, 1, { delay: NaN }), ErrorCodes.INVALID_OPTION],
        ['negative priority', () => q.publish(channel, 1, { priority: -1 }), ErrorCodes.INVALID_OPTION],
        ['fractional priority', () => q.publish(channel, 1, { priority: 1.5 }), ErrorCodes.INVALID_OPTION],
        ['empty jobId', () => q.publish(channel, 1, { jobId: '' }), ErrorCodes.INVALID_NAME],
        [
          'unknown backoff type',
          () => q.publish(channel, 1, { backoff: { type: 'linear' as 'fixed', delay: 1 } }),
          ErrorCodes.INVALID_OPTION,
        ],
        ['negative backoff', () => q.publish(channel, 1, { backoff: -5 }), ErrorCodes.INVALID_OPTION],
        ['unknown publish option', () => q.publish(channel, 1, { retries: 3 } as object), ErrorCodes.UNKNOWN_OPTION],
        ['subscribe: empty channel', () => q.subscribe('', { process }), ErrorCodes.INVALID_NAME],
        ['subscribe: no process', () => q.subscribe(channel, {} as never), ErrorCodes.INVALID_ARGUMENT],
        [
          'subscribe: concurrency 0',
          () => q.subscribe(channel, { process, concurrency: 0 }),
          ErrorCodes.INVALID_OPTION,
        ],
        [
          'subscribe: idle not a function',
          () => q.subscribe(channel, { process, idle: true as never }),
          ErrorCodes.INVALID_ARGUMENT,
        ],
        [
          'subscribe: unknown option',
          () => q.subscribe(channel, { process, retry: 1 } as never),
          ErrorCodes.UNKNOWN_OPTION,
        ],
      ];
      for (const [what, call, code] of cases) {
        await expect(call(), what).rejects.toMatchObject({ name: 'ClusterError', code });
      }
      expect(await q.counts(channel)).toEqual({ waiting: 0, delayed: 0, active: 0, dead: 0 });

      await q.subscribe(channel, { process });
      await expect(q.subscribe(channel, { process })).rejects.toMatchObject({ code: ErrorCodes.ALREADY_SUBSCRIBED });
      expect(() => q.setAdapter(q.adapter)).toThrow(expect.objectContaining({ code: ErrorCodes.INVALID_STATE }));
      await app.stop();
      await expect(q.publish(channel, 1)).rejects.toMatchObject({ code: ErrorCodes.NOT_CONNECTED });
    });

    it('dead-letters a malformed message with the reason and keeps consuming', async () => {
      const [a, b] = await nodes(2);
      const got = deferred<unknown>();
      await b!.eventQueue.subscribe(channel, { process: (message) => got.resolve(message) });
      // A raw body straight through the adapter, as a foreign or corrupted producer would write it.
      const queue = appScopedName(a!.name, channel);
      await a!.eventQueue.adapter.publish(queue, {
        id: randomName('raw'),
        body: 'not json {',
        priority: 2,
        delayMs: 0,
      });
      await a!.eventQueue.adapter.publish(queue, { id: randomName('raw'), body: '{"v":99}', priority: 2, delayMs: 0 });
      await a!.eventQueue.publish(channel, 'fine');
      expect(await within(got.promise, DEADLINE_MS, 'a valid message after the malformed ones')).toBe('fine');
      const letters = await deadLetters(a!, 2);
      expect(letters.map((l) => l.message).sort()).toEqual(['not json {', '{"v":99}']);
      for (const letter of letters) expect(letter.error.code).toBe(ErrorCodes.MALFORMED_MESSAGE);
    });
  });
}
