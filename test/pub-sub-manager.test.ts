/**
 * PubSubManager on its own (NocoBase style, no app): lifecycle, how it drives its adapter, the wire
 * envelope, malformed payloads, debounce timing (fake timers) and where handler failures go.
 * Cross-node behaviour on every backend lives in the conformance suite.
 */
import {
  createMemoryBackend,
  ErrorCodes,
  MemoryPubSubAdapter,
  PubSubManager,
  standaloneContext,
  type MemoryBackend,
  type PubSubMessageMeta,
} from 'clusterkit/adapter-kit';
import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { deferred, randomName, recordingLogger, within } from './helpers.js';

const DEADLINE_MS = 5_000;

interface TestNode {
  manager: PubSubManager;
  adapter: MemoryPubSubAdapter;
  logger: ReturnType<typeof recordingLogger>;
  errors: { error: unknown; meta?: Record<string, unknown> }[];
  nodeId: string;
}

let backend: MemoryBackend;
let made: PubSubManager[];
let channel: string;

beforeEach(() => {
  backend = createMemoryBackend();
  made = [];
  channel = randomName('ch');
});
afterEach(async () => {
  vi.useRealTimers();
  await Promise.all(made.map((m) => m.close()));
});

function node(appName = 'shop', nodeId?: string): TestNode {
  const logger = recordingLogger();
  const errors: TestNode['errors'] = [];
  const context = standaloneContext({
    appName,
    logger,
    reportError: (error, meta) => errors.push({ error, meta }),
    ...(nodeId === undefined ? {} : { nodeId }),
  });
  const adapter = new MemoryPubSubAdapter(backend);
  const manager = new PubSubManager({ adapter, context });
  made.push(manager);
  return { manager, adapter, logger, errors, nodeId: context.nodeId };
}

/** A handler that resolves `next()` with each message it receives, in order. */
function receiver() {
  const queue: unknown[] = [];
  let waiting: ((m: unknown) => void) | undefined;
  const calls: { message: unknown; meta?: PubSubMessageMeta }[] = [];
  return {
    calls,
    handler(message: unknown, meta?: PubSubMessageMeta) {
      calls.push({ message, meta });
      if (waiting) {
        const w = waiting;
        waiting = undefined;
        w(message);
      } else queue.push(message);
    },
    next(): Promise<unknown> {
      if (queue.length > 0) return Promise.resolve(queue.shift());
      const d = deferred<unknown>();
      waiting = d.resolve;
      return within(d.promise, DEADLINE_MS, 'next message');
    },
  };
}

describe('PubSubManager lifecycle', () => {
  it('works standalone with a memory adapter and a standalone context by default', async () => {
    const manager = new PubSubManager();
    made.push(manager);
    const r = receiver();
    await manager.subscribe('news', r.handler);
    await manager.connect();
    await manager.publish('news', { hi: 1 }, { skipSelf: false });
    expect(await r.next()).toEqual({ hi: 1 });
    expect(r.calls[0]!.meta).toMatchObject({ channel: 'news', from: expect.stringMatching(/^main#/) });
    expect(r.calls[0]!.meta!.publishedAt).toEqual(expect.any(Number));
  });

  it('reports its state and connects its adapter once however often connect() is called', async () => {
    const { manager, adapter } = node();
    const connect = vi.spyOn(adapter, 'connect');
    const close = vi.spyOn(adapter, 'close');
    expect(manager.isConnected()).toBe(false);
    await Promise.all([manager.connect(), manager.connect()]);
    expect(manager.isConnected()).toBe(true);
    expect(connect).toHaveBeenCalledTimes(1);
    await Promise.all([manager.close(), manager.close()]);
    expect(manager.isConnected()).toBe(false);
    expect(close).toHaveBeenCalledTimes(1);
  });

  it('rejects a failed connect() and can connect on the next attempt', async () => {
    const a = node();
    const b = node();
    const r = receiver();
    await b.manager.subscribe(channel, r.handler);
    vi.spyOn(b.adapter, 'connect').mockRejectedValueOnce(new Error('broker down'));
    await expect(b.manager.connect()).rejects.toThrow('broker down');
    expect(b.manager.isConnected()).toBe(false);
    await b.manager.close(); // nothing to close: resolves
    await Promise.all([a.manager.connect(), b.manager.connect()]);
    await a.manager.publish(channel, 'second attempt');
    expect(await r.next()).toBe('second attempt');
  });

  it('rejects publish with NOT_CONNECTED before connect() and after close()', async () => {
    const { manager } = node();
    await expect(manager.publish(channel, 1)).rejects.toMatchObject({ code: ErrorCodes.NOT_CONNECTED });
    await manager.connect();
    await manager.close();
    await expect(manager.publish(channel, 1)).rejects.toMatchObject({ code: ErrorCodes.NOT_CONNECTED });
  });

  it('refuses setAdapter() once connected, and accepts it before connect and after close', async () => {
    const { manager } = node();
    const replacement = new MemoryPubSubAdapter(backend);
    manager.setAdapter(replacement);
    const subscribe = vi.spyOn(replacement, 'subscribe');
    await manager.subscribe(channel, () => {});
    await manager.connect();
    expect(subscribe).toHaveBeenCalledTimes(1);
    expect(() => manager.setAdapter(new MemoryPubSubAdapter(backend))).toThrow(
      expect.objectContaining({ code: ErrorCodes.INVALID_STATE }),
    );
    await manager.close();
    expect(() => manager.setAdapter(new MemoryPubSubAdapter(backend))).not.toThrow();
  });

  it('subscribes the adapter on connect, once per channel, and unsubscribes it with the last handler', async () => {
    const { manager, adapter } = node();
    const subscribe = vi.spyOn(adapter, 'subscribe');
    const unsubscribe = vi.spyOn(adapter, 'unsubscribe');
    const first = () => {};
    const second = () => {};
    await manager.subscribe(channel, first);
    await manager.subscribe(channel, second);
    expect(subscribe).not.toHaveBeenCalled();
    await manager.connect();
    expect(subscribe).toHaveBeenCalledTimes(1);
    expect(subscribe.mock.calls[0]![0]).toBe(`shop:${channel}`);
    await manager.unsubscribe(channel, first);
    expect(unsubscribe).not.toHaveBeenCalled();
    await manager.unsubscribe(channel, second);
    expect(unsubscribe).toHaveBeenCalledTimes(1);
    await manager.unsubscribe(channel, second); // unknown handler: a no-op
    expect(unsubscribe).toHaveBeenCalledTimes(1);
  });

  it('keeps its handlers across close() and subscribes them again on the next connect()', async () => {
    const a = node();
    const b = node();
    const r = receiver();
    await b.manager.subscribe(channel, r.handler);
    await Promise.all([a.manager.connect(), b.manager.connect()]);
    await b.manager.close();
    await b.manager.connect();
    await a.manager.publish(channel, 'again');
    expect(await r.next()).toBe('again');
  });

  it('drops what is still in flight to it once it starts closing', async () => {
    const { manager } = node();
    const r = receiver();
    await manager.subscribe(channel, r.handler);
    await manager.connect();
    await manager.publish(channel, 'in flight', { skipSelf: false });
    await manager.close();
    await manager.connect();
    await manager.publish(channel, 'after reconnect', { skipSelf: false });
    expect(await r.next()).toBe('after reconnect');
    expect(r.calls).toHaveLength(1);
  });

  it('stopIntake(): no handler runs (pending debounces dropped), publishing still works, connect() resumes', async () => {
    const a = node();
    const b = node();
    const plain = receiver();
    const debounced = receiver();
    const other = receiver();
    await b.manager.subscribe(channel, plain.handler);
    await b.manager.subscribe(channel, debounced.handler, { debounce: 50 });
    await a.manager.subscribe(channel, other.handler);
    await Promise.all([a.manager.connect(), b.manager.connect()]);
    await a.manager.publish(channel, 'pending');
    expect(await plain.next()).toBe('pending');
    b.manager.stopIntake();
    await a.manager.publish(channel, 'dropped');
    await b.manager.publish(channel, 'sent while stopped');
    expect(await other.next()).toBe('sent while stopped');
    await b.manager.close();
    await b.manager.connect();
    await a.manager.publish(channel, 'resumed');
    expect(await plain.next()).toBe('resumed');
    expect(await debounced.next()).toBe('resumed');
    expect(plain.calls.map((c) => c.message)).toEqual(['pending', 'resumed']);
    expect(debounced.calls.map((c) => c.message)).toEqual(['resumed']);
  });
});

describe('PubSubManager wire format', () => {
  it('namespaces channels by app name and wraps messages in a version-1 envelope', async () => {
    const { manager, nodeId } = node('shop');
    const raw = new MemoryPubSubAdapter(backend);
    await raw.connect();
    const payload = deferred<string>();
    await raw.subscribe(`shop:${channel}`, payload.resolve);
    await manager.connect();
    await manager.publish(channel, { order: 7 });
    const envelope = JSON.parse(await within(payload.promise, DEADLINE_MS, 'raw payload'));
    expect(envelope).toEqual({ v: 1, from: nodeId, publishedAt: expect.any(Number), message: { order: 7 } });
    await raw.close();
  });

  it('sends an app node id (`<app>#<uuid>`) compactly; handlers get the full id in meta.from', async () => {
    const id = `shop#${randomUUID()}`;
    const a = node('shop', id);
    const b = node('shop');
    const raw = new MemoryPubSubAdapter(backend);
    await raw.connect();
    const payload = deferred<string>();
    await raw.subscribe(`shop:${channel}`, payload.resolve);
    const r = receiver();
    await b.manager.subscribe(channel, r.handler);
    await a.manager.connect();
    await b.manager.connect();
    await a.manager.publish(channel, 'hello');
    const envelope = JSON.parse(await within(payload.promise, DEADLINE_MS, 'raw payload'));
    // `#` and the UUID's 16 bytes in base64url: the app name is the channel's, not repeated.
    expect(envelope.from).toMatch(/^#[A-Za-z0-9_-]{22}$/);
    expect(await r.next()).toBe('hello');
    expect(r.calls[0]!.meta).toMatchObject({ channel, from: id });
    await raw.close();
  });

  it.each(['worker-7', 'shop#not-a-uuid', '#abcdefghijklmnopqrstuv', '##x'])(
    'carries any other node id (%s) as it is, and still knows its own echo',
    async (id) => {
      const a = node('shop', id);
      const b = node('shop');
      const mine = receiver();
      const theirs = receiver();
      await a.manager.subscribe(channel, mine.handler);
      await b.manager.subscribe(channel, theirs.handler);
      await a.manager.connect();
      await b.manager.connect();
      await a.manager.publish(channel, 1, { skipSelf: false });
      await a.manager.publish(channel, 2, { skipSelf: false });
      expect([await theirs.next(), await theirs.next()]).toEqual([1, 2]);
      expect(theirs.calls.map((c) => c.meta?.from)).toEqual([id, id]);
      // The local copies only: the wire echoes of both were recognised as this node's own.
      expect([await mine.next(), await mine.next()]).toEqual([1, 2]);
      await b.manager.publish(channel, 3);
      expect(await mine.next()).toBe(3);
      expect(mine.calls.map((c) => c.message)).toEqual([1, 2, 3]);
    },
  );

  it('drops malformed payloads with a warning and keeps delivering valid ones', async () => {
    const { manager, logger, errors } = node('shop');
    const r = receiver();
    await manager.subscribe(channel, r.handler);
    await manager.connect();
    const raw = new MemoryPubSubAdapter(backend);
    await raw.connect();
    const bad = [
      'not json',
      '[1,2]',
      '"a string"',
      JSON.stringify({ v: 2, from: 'x', publishedAt: 1, message: 1 }),
      JSON.stringify({ v: 1, publishedAt: 1, message: 1 }),
      JSON.stringify({ v: 1, from: 'x', message: 1 }),
      JSON.stringify({ v: 1, from: 'x', publishedAt: 1 }),
    ];
    for (const payload of bad) await raw.publish(`shop:${channel}`, payload);
    await raw.publish(`shop:${channel}`, JSON.stringify({ v: 1, from: 'other', publishedAt: 1, message: 'ok' }));
    expect(await r.next()).toBe('ok');
    expect(r.calls).toHaveLength(1);
    const warnings = logger.entries.filter((e) => e.level === 'warn');
    expect(warnings).toHaveLength(bad.length);
    for (const w of warnings) {
      expect(w.meta).toMatchObject({ code: ErrorCodes.MALFORMED_MESSAGE, channel, reason: expect.any(String) });
    }
    expect(errors).toEqual([]);
    await raw.close();
  });

  it('hands each handler its own copy of a local message', async () => {
    const { manager } = node();
    const r = receiver();
    await manager.subscribe(channel, r.handler);
    await manager.connect();
    const message = { list: [1] };
    await manager.publish(channel, message, { onlySelf: true });
    const got = await r.next();
    expect(got).toEqual(message);
    expect(got).not.toBe(message);
  });
});

describe('PubSubManager handler failures', () => {
  it('reports sync throws, rejections and non-Error throws, and calls every other handler', async () => {
    const { manager, errors } = node();
    const r = receiver();
    await manager.subscribe(channel, () => {
      throw new Error('sync');
    });
    await manager.subscribe(channel, () => Promise.reject(new Error('async')));
    await manager.subscribe(channel, () => {
      throw 'a string';
    });
    await manager.subscribe(channel, r.handler);
    await manager.connect();
    await manager.publish(channel, 1, { onlySelf: true });
    await r.next();
    await vi.waitFor(() => expect(errors).toHaveLength(3), { timeout: DEADLINE_MS });
    expect(errors.map((e) => (e.error instanceof Error ? e.error.message : e.error))).toEqual(
      expect.arrayContaining(['sync', 'async', 'a string']),
    );
    expect(errors[0]!.meta).toMatchObject({ source: 'pubSubManager', channel });
  });
});

describe('PubSubManager debounce', () => {
  beforeEach(() => {
    // Fake only timeouts: delivery (setImmediate) stays real, the debounce clock is ours.
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
  });

  async function setup(debounce: number) {
    const a = node();
    const b = node();
    const debounced = receiver();
    const plain = receiver();
    await b.manager.subscribe(channel, debounced.handler, { debounce });
    await b.manager.subscribe(channel, plain.handler);
    await Promise.all([a.manager.connect(), b.manager.connect()]);
    /** Publishes from A and waits until B has taken the message in. */
    const send = async (message: unknown) => {
      await a.manager.publish(channel, message);
      await plain.next();
    };
    return { a, b, debounced, send };
  }

  it('calls once, with the last of a burst, when the quiet period after it ends', async () => {
    const { debounced, send } = await setup(100);
    await send({ id: 1 });
    vi.advanceTimersByTime(99);
    await send({ id: 1 }); // restarts the quiet period
    vi.advanceTimersByTime(99);
    expect(debounced.calls).toHaveLength(0);
    vi.advanceTimersByTime(1);
    expect(debounced.calls.map((c) => c.message)).toEqual([{ id: 1 }]);
    vi.advanceTimersByTime(1_000);
    expect(debounced.calls).toHaveLength(1);
  });

  it('debounces distinct payloads independently', async () => {
    const { debounced, send } = await setup(100);
    await send('a');
    vi.advanceTimersByTime(60);
    await send('b');
    vi.advanceTimersByTime(40);
    expect(debounced.calls.map((c) => c.message)).toEqual(['a']);
    vi.advanceTimersByTime(60);
    expect(debounced.calls.map((c) => c.message)).toEqual(['a', 'b']);
  });

  it('drops pending calls on unsubscribe and on close, leaving no timers behind', async () => {
    const { b, debounced, send } = await setup(100);
    await send('x');
    expect(vi.getTimerCount()).toBe(1);
    await b.manager.unsubscribe(channel, debounced.handler);
    expect(vi.getTimerCount()).toBe(0);
    await b.manager.subscribe(channel, debounced.handler, { debounce: 100 });
    await send('y');
    expect(vi.getTimerCount()).toBe(1);
    await b.manager.close();
    expect(vi.getTimerCount()).toBe(0);
    vi.advanceTimersByTime(1_000);
    expect(debounced.calls).toHaveLength(0);
  });

  it('applies the latest options when the same handler subscribes again', async () => {
    const { b, debounced, send } = await setup(100);
    await b.manager.subscribe(channel, debounced.handler);
    await send('now');
    expect(debounced.calls.map((c) => c.message)).toEqual(['now']);
    expect(vi.getTimerCount()).toBe(0);
  });
});
