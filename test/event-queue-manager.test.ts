/**
 * The event-queue manager on its own (NocoBase style, memory adapter): lifecycle, validation at the
 * call, the envelope, backoff math, and the outcome of every kind of delivery — read off a real
 * memory adapter whose `consume` is wrapped to record what the manager decided.
 */
import {
  backoffDelay,
  ClusterError,
  decodeEnvelope,
  DEFAULT_BACKOFF,
  encodeEnvelope,
  ErrorCodes,
  EventQueueManager,
  MemoryEventQueueAdapter,
  normalizeBackoff,
  standaloneContext,
  silentLogger,
  UnrecoverableError,
  type Delivery,
  type DeliveryOutcome,
  type EventQueueAdapter,
  type EventQueueDefaults,
  type QueueRecord,
} from 'clusterkit/adapter-kit';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { PriorityFifo } from '../src/event-queue/priority-fifo.js';
import { deferred, within } from './helpers.js';

const DEADLINE_MS = 5_000;

/** A memory adapter that records the queue names it is given and every delivery outcome. */
class RecordingAdapter extends MemoryEventQueueAdapter implements EventQueueAdapter {
  readonly published: { queue: string; record: QueueRecord }[] = [];
  readonly outcomes: { delivery: Delivery; outcome: DeliveryOutcome }[] = [];
  private readonly waiters: { n: number; resolve: () => void }[] = [];

  override async publish(queue: string, record: QueueRecord): Promise<void> {
    this.published.push({ queue, record });
    await super.publish(queue, record);
  }

  override consume(
    queue: string,
    options: Parameters<EventQueueAdapter['consume']>[1],
    deliver: (d: Delivery) => Promise<DeliveryOutcome>,
  ) {
    return super.consume(queue, options, async (delivery) => {
      const snapshot = { ...delivery };
      const outcome = await deliver(delivery);
      this.outcomes.push({ delivery: snapshot, outcome });
      for (const w of this.waiters.filter((w) => this.outcomes.length >= w.n)) w.resolve();
      return outcome;
    });
  }

  /** Resolves once `n` outcomes have been recorded. */
  async settled(n: number): Promise<DeliveryOutcome[]> {
    if (this.outcomes.length < n) {
      const d = deferred();
      this.waiters.push({ n, resolve: d.resolve });
      await within(d.promise, DEADLINE_MS, `${n} outcomes`);
    }
    return this.outcomes.map((o) => o.outcome);
  }
}

const managers: EventQueueManager[] = [];
function setup(defaults?: EventQueueDefaults) {
  const adapter = new RecordingAdapter();
  const reportError = vi.fn();
  const context = standaloneContext({ appName: 'shop', logger: silentLogger, reportError, maxPayloadBytes: 1024 });
  const manager = new EventQueueManager({ adapter, context, defaults });
  managers.push(manager);
  return { adapter, manager, reportError };
}

afterEach(async () => {
  await Promise.all(managers.splice(0).map((m) => m.close({ gracePeriodMs: 0 })));
});

describe('backoff', () => {
  it('waits a fixed delay, or doubles from the base up to the cap', () => {
    const fixed = normalizeBackoff('backoff', 250);
    expect(fixed).toEqual({ type: 'fixed', delay: 250, maxDelay: 250, jitter: 0 });
    expect([1, 2, 5].map((n) => backoffDelay(fixed, n))).toEqual([250, 250, 250]);
    const exp = normalizeBackoff('backoff', { type: 'exponential', delay: 100, maxDelay: 1_000, jitter: 0 });
    expect([1, 2, 3, 4, 5, 60].map((n) => backoffDelay(exp, n))).toEqual([100, 200, 400, 800, 1_000, 1_000]);
  });

  it('shortens a delay by at most `jitter` of it', () => {
    const policy = normalizeBackoff('backoff', { type: 'exponential', delay: 1_000, jitter: 0.5 });
    expect(backoffDelay(policy, 1, () => 0)).toBe(1_000);
    expect(backoffDelay(policy, 1, () => 0.999999)).toBe(500);
    expect(backoffDelay(policy, 2, () => 0.5)).toBe(1_500);
  });

  it('defaults to exponential from 1000 ms, capped at 60000 ms, jitter 0.2 (fixed: no jitter)', () => {
    expect(DEFAULT_BACKOFF).toEqual({ type: 'exponential', delay: 1_000, maxDelay: 60_000, jitter: 0.2 });
    expect(normalizeBackoff('b', { type: 'fixed', delay: 90_000 })).toEqual({
      type: 'fixed',
      delay: 90_000,
      maxDelay: 90_000,
      jitter: 0,
    });
    expect(normalizeBackoff('b', { type: 'exponential', delay: 10 }).jitter).toBe(0.2);
  });

  it.each([
    ['a string', 'fast', ErrorCodes.INVALID_OPTION],
    ['an unknown type', { type: 'linear', delay: 1 }, ErrorCodes.INVALID_OPTION],
    ['a negative delay', { type: 'fixed', delay: -1 }, ErrorCodes.INVALID_OPTION],
    ['maxDelay below delay', { type: 'exponential', delay: 100, maxDelay: 50 }, ErrorCodes.INVALID_OPTION],
    ['jitter above 1', { type: 'exponential', delay: 100, jitter: 2 }, ErrorCodes.INVALID_OPTION],
    ['an unknown key', { type: 'fixed', delay: 1, factor: 2 }, ErrorCodes.UNKNOWN_OPTION],
  ])('refuses %s', (_what, input, code) => {
    expect(() => normalizeBackoff('backoff', input)).toThrow(expect.objectContaining({ code }));
  });
});

describe('memory waiting line (PriorityFifo)', () => {
  const rec = (name: string, priority: number, seq: number) => ({ name, priority, seq });

  it('takes the lowest priority first and publish order within a priority', () => {
    const line = new PriorityFifo<ReturnType<typeof rec>>();
    [rec('low', 3, 1), rec('n1', 2, 2), rec('urgent', 0, 3), rec('n2', 2, 4), rec('far', 1_000_000, 5)].forEach((r) =>
      line.push(r),
    );
    line.push(rec('urgent2', 0, 6));
    const out: string[] = [];
    while (line.size > 0) out.push(line.pop()!.name);
    expect(out).toEqual(['urgent', 'urgent2', 'n1', 'n2', 'low', 'far']);
    expect(line.pop()).toBeUndefined();
  });

  it('puts a handed-back record back in its place, ahead of later ones', () => {
    const line = new PriorityFifo<ReturnType<typeof rec>>();
    for (let i = 1; i <= 4; i++) line.push(rec(`m${i}`, 2, i));
    const first = line.pop()!;
    const second = line.pop()!;
    line.restore(second);
    line.restore(first);
    const out: string[] = [];
    while (line.size > 0) out.push(line.pop()!.name);
    expect(out).toEqual(['m1', 'm2', 'm3', 'm4']);
  });

  it('stays in order across many pushes and pops (compaction)', () => {
    const line = new PriorityFifo<ReturnType<typeof rec>>();
    const out: number[] = [];
    for (let i = 0; i < 5_000; i++) {
      line.push(rec(String(i), i % 2, i));
      if (i % 3 === 0) out.push(line.pop()!.seq);
    }
    while (line.size > 0) out.push(line.pop()!.seq);
    expect(out).toHaveLength(5_000);
    expect(new Set(out).size).toBe(5_000);
  });

  it('matches a sorted model under random pushes, pops and restores (ring wrap-around, many levels)', () => {
    const line = new PriorityFifo<ReturnType<typeof rec>>();
    const model: ReturnType<typeof rec>[] = [];
    const order = (a: ReturnType<typeof rec>, b: ReturnType<typeof rec>) => a.priority - b.priority || a.seq - b.seq;
    let seed = 42;
    const random = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
    let seq = 0;
    const taken: ReturnType<typeof rec>[] = [];
    for (let step = 0; step < 20_000; step++) {
      const r = random();
      if (r < 0.5) {
        const item = rec(String(++seq), Math.floor(random() * 4) * (random() < 0.05 ? 100 : 1), seq);
        line.push(item);
        model.push(item);
      } else if (r < 0.85) {
        model.sort(order);
        const expected = model.shift();
        const got = line.pop();
        expect(got).toBe(expected);
        if (got) taken.push(got);
      } else if (taken.length > 0) {
        const back = taken.splice(Math.floor(random() * taken.length), 1)[0]!;
        line.restore(back);
        model.push(back);
      }
      expect(line.size).toBe(model.length);
    }
  });
});

describe('envelope', () => {
  it('round-trips the payload and carries only the policy the publisher set', () => {
    const body = encodeEnvelope('id-1', JSON.stringify({ a: [1, 'two'] }), 1_700_000_000_000, { maxRetries: 5 });
    expect(JSON.parse(body)).toEqual({
      v: 1,
      id: 'id-1',
      publishedAt: 1_700_000_000_000,
      maxRetries: 5,
      message: { a: [1, 'two'] },
    });
    expect(decodeEnvelope(body)).toMatchObject({ id: 'id-1', maxRetries: 5, message: { a: [1, 'two'] } });
  });

  it('escapes ids that need it', () => {
    const id = 'quote " and \\ back';
    expect(decodeEnvelope(encodeEnvelope(id, 'null', 1, {})).id).toBe(id);
  });

  it.each([
    ['not JSON', 'nope {'],
    ['an array', '[1]'],
    ['another version', '{"v":2,"id":"x","publishedAt":1,"message":1}'],
    ['no id', '{"v":1,"publishedAt":1,"message":1}'],
    ['no message', '{"v":1,"id":"x","publishedAt":1}'],
    ['a bad maxRetries', '{"v":1,"id":"x","publishedAt":1,"maxRetries":-1,"message":1}'],
    ['a bad timeout', '{"v":1,"id":"x","publishedAt":1,"timeout":0,"message":1}'],
    ['a bad backoff', '{"v":1,"id":"x","publishedAt":1,"backoff":{"type":"x"},"message":1}'],
  ])('refuses a body that is %s with MALFORMED_MESSAGE', (_what, body) => {
    expect(() => decodeEnvelope(body)).toThrow(expect.objectContaining({ code: ErrorCodes.MALFORMED_MESSAGE }));
  });
});

describe('EventQueueManager lifecycle', () => {
  it('works standalone on a memory adapter, NocoBase style', async () => {
    const manager = new EventQueueManager({ context: standaloneContext({ logger: silentLogger }) });
    managers.push(manager);
    expect(manager.capabilities).toMatchObject({ priority: true, delay: true });
    const got = deferred<unknown>();
    await manager.subscribe('mail', { process: (message) => got.resolve(message) });
    expect(manager.isConnected()).toBe(false);
    await expect(manager.publish('mail', 1)).rejects.toMatchObject({ code: ErrorCodes.NOT_CONNECTED });
    await manager.connect();
    expect(manager.isConnected()).toBe(true);
    expect(() => manager.setAdapter(new MemoryEventQueueAdapter())).toThrow(
      expect.objectContaining({ code: ErrorCodes.INVALID_STATE }),
    );
    await manager.publish('mail', { to: 'a@b.c' });
    expect(await within(got.promise, DEADLINE_MS, 'delivered')).toEqual({ to: 'a@b.c' });
    await manager.close();
    expect(manager.isConnected()).toBe(false);
    await expect(manager.publish('mail', 1)).rejects.toMatchObject({ code: ErrorCodes.NOT_CONNECTED });
  });

  it('restarts its subscriptions on reconnect', async () => {
    const { manager } = setup();
    const got: unknown[] = [];
    const second = deferred();
    await manager.subscribe('c', { process: (m) => (got.push(m), m === 2 && second.resolve()) });
    await manager.connect();
    await manager.publish('c', 1);
    await vi.waitFor(() => expect(got).toEqual([1]), { timeout: DEADLINE_MS });
    await manager.close();
    await manager.connect();
    await manager.publish('c', 2);
    await within(second.promise, DEADLINE_MS, 'delivered after reconnect');
    expect(got).toEqual([1, 2]);
  });

  it('names queues <appName>:<channel> and publishes without a subscriber', async () => {
    const { manager, adapter } = setup();
    await manager.connect();
    const { id } = await manager.publish('orders', 'x', { priority: 0, delay: 5, jobId: 'order-1' });
    expect(id).toBe('order-1');
    expect(adapter.published).toEqual([
      { queue: 'shop:orders', record: expect.objectContaining({ id: 'order-1', priority: 0, delayMs: 5 }) },
    ]);
    expect(await manager.counts('orders')).toEqual({ waiting: 0, delayed: 1, active: 0, dead: 0 });
    await manager.obliterate('orders');
    expect(await manager.counts('orders')).toEqual({ waiting: 0, delayed: 0, active: 0, dead: 0 });
  });

  it('refuses bad input before the adapter is touched', async () => {
    const { manager, adapter } = setup();
    await manager.connect();
    const p = () => {};
    const bad: [() => unknown, string][] = [
      [() => manager.publish('', 1), ErrorCodes.INVALID_NAME],
      [() => manager.publish('c', 'x'.repeat(2_000)), ErrorCodes.PAYLOAD_TOO_LARGE],
      [() => manager.publish('c', new Map() as never), ErrorCodes.INVALID_PAYLOAD],
      [() => manager.publish('c', 1, { timeout: -1 }), ErrorCodes.INVALID_OPTION],
      [() => manager.publish('c', 1, { priority: 3_000_000 }), ErrorCodes.INVALID_OPTION],
      [() => manager.publish('c', 1, { jobId: 7 as never }), ErrorCodes.INVALID_NAME],
      [() => manager.publish('c', 1, 'fast' as never), ErrorCodes.INVALID_ARGUMENT],
      [() => manager.subscribe('c', { process: p, concurrency: 1.5 }), ErrorCodes.INVALID_OPTION],
      [() => manager.subscribe('c', { process: p, maxRetries: -1 }), ErrorCodes.INVALID_OPTION],
      [() => manager.subscribe('c', { process: p, timeout: 0 }), ErrorCodes.INVALID_OPTION],
      [() => manager.subscribe('c', { process: p, backoff: { type: 'fixed' } as never }), ErrorCodes.INVALID_OPTION],
      [() => manager.subscribe('c', null as never), ErrorCodes.INVALID_ARGUMENT],
      [() => manager.listDeadLetters('c', { limit: 0 }), ErrorCodes.INVALID_OPTION],
      [() => manager.redrive('c', [''] as never), ErrorCodes.INVALID_NAME],
      [() => manager.close({ gracePeriodMs: -1 }), ErrorCodes.INVALID_OPTION],
    ];
    for (const [call, code] of bad) await expect(call()).rejects.toMatchObject({ code });
    expect(adapter.published).toEqual([]);
    expect(() => new EventQueueManager({ defaults: { concurrency: 0 } })).toThrow(
      expect.objectContaining({ code: ErrorCodes.INVALID_OPTION }),
    );
    expect(() => new EventQueueManager({ adaptor: adapter } as never)).toThrow(
      expect.objectContaining({ code: ErrorCodes.UNKNOWN_OPTION }),
    );
  });

  it('refuses delay and priority on an adapter without them (NOT_SUPPORTED)', async () => {
    class Plain extends MemoryEventQueueAdapter {
      override readonly capabilities = { priority: false, delay: false, durable: false, distributed: false, uniqueIds: false };
    }
    const manager = new EventQueueManager({
      adapter: new Plain(),
      context: standaloneContext({ logger: silentLogger }),
    });
    managers.push(manager);
    await manager.connect();
    await expect(manager.publish('c', 1, { delay: 10 })).rejects.toMatchObject({ code: ErrorCodes.NOT_SUPPORTED });
    await expect(manager.publish('c', 1, { priority: 0 })).rejects.toMatchObject({ code: ErrorCodes.NOT_SUPPORTED });
    await manager.publish('c', 1, { priority: 2, delay: 0 });
  });
});

describe('EventQueueManager deliveries', () => {
  it('acks, retries with the message backoff, then dead-letters; failures go to reportError', async () => {
    const { manager, adapter, reportError } = setup({ maxRetries: 0 });
    await manager.subscribe('c', {
      process(_m, { retried }) {
        throw new Error(`fail ${retried}`);
      },
    });
    await manager.connect();
    // The publisher's policy wins over the manager default (maxRetries 0).
    const { id } = await manager.publish('c', 1, {
      maxRetries: 2,
      backoff: { type: 'exponential', delay: 4, jitter: 0 },
    });
    const outcomes = await adapter.settled(3);
    expect(outcomes).toEqual([
      { type: 'retry', delayMs: 4, error: expect.objectContaining({ message: 'fail 0' }) },
      { type: 'retry', delayMs: 8, error: expect.objectContaining({ message: 'fail 1' }) },
      { type: 'dead', error: expect.objectContaining({ message: 'fail 2', name: 'Error' }) },
    ]);
    expect(adapter.outcomes.map((o) => o.delivery.attempt)).toEqual([0, 1, 2]);
    expect(reportError).toHaveBeenCalledTimes(3);
    expect(reportError).toHaveBeenLastCalledWith(
      expect.any(Error),
      expect.objectContaining({ channel: 'c', id, attempt: 2, outcome: 'dead' }),
    );
  });

  it('acks a resolving handler and dead-letters an UnrecoverableError at once', async () => {
    const { manager, adapter } = setup();
    await manager.subscribe<string>('c', {
      process(m) {
        if (m === 'bad') throw new UnrecoverableError('no');
      },
    });
    await manager.connect();
    await manager.publish('c', 'good');
    await manager.publish('c', 'bad', { maxRetries: 9 });
    expect(await adapter.settled(2)).toEqual([
      { type: 'ack' },
      { type: 'dead', error: expect.objectContaining({ code: ErrorCodes.UNRECOVERABLE }) },
    ]);
  });

  it('fails a timed-out attempt but resolves the delivery only once the handler returns', async () => {
    const { manager, adapter } = setup();
    const release = deferred();
    const events: string[] = [];
    await manager.subscribe('c', {
      timeout: 20,
      async process(_m, { signal }) {
        await new Promise((r) => signal.addEventListener('abort', r, { once: true }));
        events.push(`aborted ${(signal.reason as ClusterError).code}`);
        await release.promise;
        events.push('returned');
      },
    });
    await manager.connect();
    await manager.publish('c', 1, { maxRetries: 0 });
    await vi.waitFor(() => expect(events).toEqual(['aborted QUEUE_TIMEOUT']), { timeout: DEADLINE_MS });
    expect(adapter.outcomes).toEqual([]);
    release.resolve();
    const [outcome] = await adapter.settled(1);
    expect(events).toEqual(['aborted QUEUE_TIMEOUT', 'returned']);
    expect(outcome).toEqual({ type: 'dead', error: expect.objectContaining({ code: ErrorCodes.QUEUE_TIMEOUT }) });
  });

  it('dead-letters malformed bodies with MALFORMED_MESSAGE and keeps consuming', async () => {
    const { manager, adapter, reportError } = setup();
    const got = deferred<unknown>();
    await manager.subscribe('c', { process: (m) => got.resolve(m) });
    await manager.connect();
    await adapter.publish('shop:c', { id: 'raw-1', body: '{"v":1,"id":"raw-1"}', priority: 2, delayMs: 0 });
    await manager.publish('c', 'ok');
    expect(await within(got.promise, DEADLINE_MS, 'valid message')).toBe('ok');
    const [letter] = await vi.waitFor(async () => {
      const letters = await manager.listDeadLetters('c');
      expect(letters).toHaveLength(1);
      return letters;
    });
    expect(letter).toMatchObject({
      id: 'raw-1',
      message: '{"v":1,"id":"raw-1"}',
      attempt: 1,
      error: { code: ErrorCodes.MALFORMED_MESSAGE },
    });
    expect(reportError).toHaveBeenCalledWith(
      expect.objectContaining({ code: ErrorCodes.MALFORMED_MESSAGE }),
      expect.objectContaining({ channel: 'c', id: 'raw-1' }),
    );
  });

  it('on close, aborts handlers after the grace period (SHUTDOWN) and releases what they drop', async () => {
    const { manager, adapter, reportError } = setup();
    const running = deferred();
    await manager.subscribe('c', {
      async process(_m, { signal }) {
        running.resolve();
        await new Promise((r) => signal.addEventListener('abort', r, { once: true }));
        throw signal.reason;
      },
    });
    await manager.connect();
    await manager.publish('c', 1, { maxRetries: 0 });
    await within(running.promise, DEADLINE_MS, 'running');
    await manager.close({ gracePeriodMs: 10 });
    expect(adapter.outcomes.map((o) => o.outcome)).toEqual([{ type: 'release', delayMs: 0 }]);
    expect(reportError).not.toHaveBeenCalled();
    // Handed back unspent: waiting again, not dead.
    expect(await adapter.counts('shop:c')).toEqual({ waiting: 1, delayed: 0, active: 0, dead: 0 });
  });

  it('abandons (releases) a handler that ignores the shutdown abort', async () => {
    const { manager, adapter } = setup();
    const running = deferred();
    const never = deferred();
    await manager.subscribe('c', { process: () => (running.resolve(), never.promise) });
    await manager.connect();
    await manager.publish('c', 1);
    await within(running.promise, DEADLINE_MS, 'running');
    await within(manager.close({ gracePeriodMs: 0 }), DEADLINE_MS, 'close gives up on the handler');
    expect(adapter.outcomes.map((o) => o.outcome)).toEqual([{ type: 'release', delayMs: 0 }]);
    never.resolve();
  });

  it('treats a throwing idle() gate as closed and reports it', async () => {
    const { manager, reportError } = setup();
    let throwing = true;
    const got = deferred<unknown>();
    await manager.subscribe('c', {
      interval: 5, // NocoBase's name for the gate recheck period
      idle() {
        if (throwing) throw new Error('gate broke');
        return true;
      },
      process: (m) => got.resolve(m),
    });
    await manager.connect();
    await manager.publish('c', 'x');
    await vi.waitFor(() =>
      expect(reportError).toHaveBeenCalledWith(
        expect.objectContaining({ message: 'gate broke' }),
        expect.objectContaining({ channel: 'c' }),
      ),
    );
    throwing = false;
    expect(await within(got.promise, DEADLINE_MS, 'delivered once the gate works')).toBe('x');
  });

  it('pages, re-drives and deletes dead letters by id', async () => {
    const { manager, adapter } = setup();
    await manager.subscribe('c', {
      process(m) {
        if (typeof m === 'number') throw new UnrecoverableError('no');
      },
    });
    await manager.connect();
    for (const n of [0, 1, 2, 3]) await manager.publish('c', n, { jobId: `job-${n}` });
    await adapter.settled(4);
    expect((await manager.listDeadLetters('c', { offset: 1, limit: 2 })).map((l) => l.id)).toEqual(['job-1', 'job-2']);
    expect(await manager.deleteDeadLetters('c', ['job-0', 'nope'])).toBe(1);
    expect(await manager.redrive('c', ['job-3'])).toBe(1);
    await adapter.settled(5);
    expect((await manager.listDeadLetters('c')).map((l) => l.id)).toEqual(['job-1', 'job-2', 'job-3']);
    expect(await manager.deleteDeadLetters('c')).toBe(3);
    expect(await manager.counts('c')).toEqual({ waiting: 0, delayed: 0, active: 0, dead: 0 });
  });
});
