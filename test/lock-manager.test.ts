/**
 * LockManager on its own (NocoBase style) and the memory lock adapter's contract details. The
 * cross-node guarantees live in the conformance suite (test/conformance/lock.suite.ts).
 */
import {
  ClusterError,
  createMemoryBackend,
  DEFAULT_LOCK_TTL_MS,
  ErrorCodes,
  LockManager,
  MemoryLockAdapter,
  silentLogger,
  standaloneContext,
  type LockEvent,
} from 'clusterkit/adapter-kit';
import { describe, expect, it, vi } from 'vitest';
import { codeOf } from './code-of.js';
import { deferred, randomName, within } from './helpers.js';

const DEADLINE_MS = 10_000;

/** A real memory adapter whose extend is always refused, as after a takeover the backend saw first. */
class RefusingExtendAdapter extends MemoryLockAdapter {
  override async extend(): Promise<boolean> {
    return false;
  }
}

describe('LockManager standalone', () => {
  it('works without connect() and ports NocoBase code: const { release } = await acquire(key)', async () => {
    const lockManager = new LockManager();
    const { release, fencingToken, ttl } = await lockManager.acquire('report');
    expect(fencingToken).toBeGreaterThan(0);
    expect(ttl).toBe(DEFAULT_LOCK_TTL_MS);
    await expect(lockManager.tryAcquire('report')).rejects.toMatchObject({ code: ErrorCodes.LOCK_ACQUIRE_FAILED });
    expect(await release()).toBe(true);
    const again = await lockManager.tryAcquire('report', 500);
    expect(again.fencingToken).toBe(fencingToken + 1);
    expect(again.ttl).toBe(500);
    await lockManager.close();
  });

  it('keeps fencing tokens increasing across a restart that loses the counter (a new process = a new backend)', async () => {
    const before = new LockManager();
    const first = await before.acquire('report');
    await first.release();
    const second = await before.acquire('report');
    await second.release();
    await before.close();
    // A process that restarts starts with an empty memory backend, while a database that stored the
    // last token lives on: the new tokens must still be greater, or its fence check lets stale writes in.
    const after = new LockManager();
    const third = await after.acquire('report');
    expect(third.fencingToken).toBeGreaterThan(second.fencingToken);
    expect(Number.isSafeInteger(third.fencingToken)).toBe(true);
    await third.release();
    await after.close();
  });

  it('inside an app (a context is given) refuses calls before connect() with NOT_CONNECTED', async () => {
    const lockManager = new LockManager({ context: standaloneContext({ logger: silentLogger }) });
    expect(await codeOf(() => lockManager.acquire('k'))).toBe(ErrorCodes.NOT_CONNECTED);
    expect(lockManager.isConnected()).toBe(false);
    await lockManager.connect();
    expect(lockManager.isConnected()).toBe(true);
    const lock = await lockManager.acquire('k');
    await lock.release();
    await lockManager.close();
    expect(await codeOf(() => lockManager.tryAcquire('k'))).toBe(ErrorCodes.NOT_CONNECTED);
    // A closed manager may connect again.
    await lockManager.connect();
    await (await lockManager.tryAcquire('k')).release();
    await lockManager.close();
  });

  it('setAdapter() is taken before connect and refused after', async () => {
    const backend = createMemoryBackend();
    const a = new LockManager();
    const b = new LockManager();
    a.setAdapter(new MemoryLockAdapter(backend));
    b.setAdapter(new MemoryLockAdapter(backend));
    const held = await a.acquire('shared');
    // Same backend and same (default) app name: the two managers contend.
    expect(await codeOf(() => b.tryAcquire('shared'))).toBe(ErrorCodes.LOCK_ACQUIRE_FAILED);
    expect(() => a.setAdapter(new MemoryLockAdapter())).toThrow(
      expect.objectContaining({ code: ErrorCodes.INVALID_STATE }),
    );
    expect(() => new LockManager().setAdapter({} as never)).toThrow(
      expect.objectContaining({ code: ErrorCodes.INVALID_ARGUMENT }),
    );
    await held.release();
    await Promise.all([a.close(), b.close()]);
  });

  it('validates constructor options', () => {
    const cases: [string, () => unknown, string][] = [
      ['unknown option', () => new LockManager({ ttl: 5 } as never), ErrorCodes.UNKNOWN_OPTION],
      ['defaultTtl 0', () => new LockManager({ defaultTtl: 0 }), ErrorCodes.INVALID_OPTION],
      ['defaultTtl NaN', () => new LockManager({ defaultTtl: Number.NaN }), ErrorCodes.INVALID_OPTION],
    ];
    for (const [what, make, code] of cases) expect(make, what).toThrow(expect.objectContaining({ code }));
  });

  it('uses defaultTtl when a call gives no ttl', async () => {
    const lockManager = new LockManager({ defaultTtl: 1234 });
    const lock = await lockManager.acquire('k');
    expect(lock.ttl).toBe(1234);
    await lockManager.close();
  });

  it('namespaces keys by app name before they reach the adapter', async () => {
    const backend = createMemoryBackend();
    const shop = new LockManager({
      adapter: new MemoryLockAdapter(backend),
      context: standaloneContext({ appName: 'shop' }),
    });
    const blog = new LockManager({
      adapter: new MemoryLockAdapter(backend),
      context: standaloneContext({ appName: 'blog' }),
    });
    await Promise.all([shop.connect(), blog.connect()]);
    const mine = await shop.tryAcquire('orders');
    const theirs = await blog.tryAcquire('orders');
    const raw = new MemoryLockAdapter(backend);
    await raw.connect();
    expect(await raw.tryAcquire('shop:orders', 'someone', 1000)).toMatchObject({ acquired: false });
    await Promise.all([mine.release(), theirs.release()]);
    expect(await raw.tryAcquire('shop:orders', 'someone', 1000)).toMatchObject({ acquired: true });
    await Promise.all([shop.close(), blog.close(), raw.close()]);
  });

  it('acquire with timeout 0 tries once', async () => {
    const lockManager = new LockManager();
    const held = await lockManager.acquire('k', 60_000);
    expect(await codeOf(() => lockManager.acquire('k', 1000, { timeout: 0 }))).toBe(ErrorCodes.LOCK_ACQUIRE_FAILED);
    await held.release();
    await (await lockManager.acquire('k', 1000, { timeout: 0 })).release();
    await lockManager.close();
  });

  it('an already aborted signal rejects at once with its reason', async () => {
    const lockManager = new LockManager();
    const reason = new Error('not wanted');
    await expect(lockManager.acquire('k', undefined, { signal: AbortSignal.abort(reason) })).rejects.toBe(reason);
    await (await lockManager.tryAcquire('k')).release();
    await lockManager.close();
  });

  it('a refused extend aborts the signal, and runExclusive then rejects with LOCK_LOST', async () => {
    const lockManager = new LockManager({ adapter: new RefusingExtendAdapter() });
    const aborted = deferred<unknown>();
    const run = lockManager.runExclusive(
      'k',
      async (lock) => {
        lock.signal.addEventListener('abort', () => aborted.resolve(lock.signal.reason));
        await within(aborted.promise, DEADLINE_MS, 'lost-lease signal');
        return 'finished without exclusivity';
      },
      300,
    );
    await expect(run).rejects.toMatchObject({ code: ErrorCodes.LOCK_LOST });
    const reason = await aborted.promise;
    expect(reason).toBeInstanceOf(ClusterError);
    await lockManager.close();
  });

  it('extend on a lock whose extend is refused throws LOCK_NOT_OWNER and aborts the signal', async () => {
    const lockManager = new LockManager({ adapter: new RefusingExtendAdapter() });
    const lock = await lockManager.acquire('k', 60_000);
    expect(await codeOf(() => lock.extend(1000))).toBe(ErrorCodes.LOCK_NOT_OWNER);
    expect(lock.signal.aborted).toBe(true);
    expect(lock.held).toBe(false);
    await lockManager.close();
  });

  it('extend validates its ttl', async () => {
    const lockManager = new LockManager();
    const lock = await lockManager.acquire('k');
    expect(await codeOf(() => lock.extend(0))).toBe(ErrorCodes.INVALID_OPTION);
    expect(lock.held).toBe(true);
    await lock.release();
    await lockManager.close();
  });
});

describe('MemoryLockAdapter', () => {
  async function pair() {
    const backend = createMemoryBackend();
    const a = new MemoryLockAdapter(backend);
    const b = new MemoryLockAdapter(backend);
    await Promise.all([a.connect(), b.connect()]);
    return { a, b, key: randomName('k') };
  }

  it('refuses calls before connect', async () => {
    const adapter = new MemoryLockAdapter();
    expect(await codeOf(() => adapter.tryAcquire('k', 'o', 100))).toBe(ErrorCodes.NOT_CONNECTED);
  });

  it('keeps the fencing counter across releases and expiries', async () => {
    const { a, b, key } = await pair();
    const first = await a.tryAcquire(key, 'one', 1000);
    expect(first.acquired).toBe(true);
    const token = first.acquired ? first.fencingToken : 0;
    const busy = await b.tryAcquire(key, 'two', 1000);
    expect(busy.acquired).toBe(false);
    if (!busy.acquired) expect(busy.retryAfterMs).toBeGreaterThan(0);
    expect(await b.release(key, 'two')).toBe(false);
    expect(await b.extend(key, 'two', 1000)).toBe(false);
    expect(await a.extend(key, 'one', 2000)).toBe(true);
    expect(await a.release(key, 'one')).toBe(true);
    expect(await a.release(key, 'one')).toBe(false);
    expect(await b.tryAcquire(key, 'two', 1000)).toEqual({ acquired: true, fencingToken: token + 1 });
  });

  it('keeps a line: queued attempts wait in order, a release hands the lease to the first live place and says so', async () => {
    const { a, b, key } = await pair();
    const granted = deferred<LockEvent>();
    await b.onRelease(key, (event) => {
      if (event.type === 'granted') granted.resolve(event);
    });
    expect(await a.tryAcquire(key, 'holder', 60_000)).toMatchObject({ acquired: true });
    const placedAt = Date.now();
    expect(await b.tryAcquire(key, 'lapsing', 1_000, { queueMs: 1 })).toMatchObject({ acquired: false });
    expect(await b.tryAcquire(key, 'second', 5_000, { queueMs: 60_000 })).toMatchObject({ acquired: false });
    // A plain attempt neither joins the line nor takes the lock ahead of it.
    expect(await b.tryAcquire(key, 'barger', 1_000)).toMatchObject({ acquired: false });
    // The first place lapses 1 ms after it was taken: its owner never renewed it (crashed).
    await vi.waitFor(() => expect(Date.now()).toBeGreaterThan(placedAt + 1));
    expect(await a.release(key, 'holder')).toBe(true);
    const event = await within(granted.promise, DEADLINE_MS, 'hand-off notification');
    expect(event).toMatchObject({ type: 'granted', owner: 'second', ttlMs: 5_000 });
    // The new holder learns the same from an attempt (a lost notification costs nothing).
    const found = await b.tryAcquire(key, 'second', 5_000, { queueMs: 60_000 });
    expect(found).toMatchObject({ acquired: true, fencingToken: (event as { fencingToken: number }).fencingToken });
    // Leaving passes a lease that was handed over meanwhile on: the lock is free again.
    await b.leave(key, 'second');
    expect(await a.tryAcquire(key, 'later', 1_000)).toMatchObject({ acquired: true });
  });

  it('notifies release listeners on every node, and on expiry without anyone touching the key', async () => {
    const { a, b, key } = await pair();
    const released = deferred();
    const expired = deferred();
    let calls = 0;
    const unsubscribe = await b.onRelease(key, () => {
      calls += 1;
      if (calls === 1) released.resolve();
      else expired.resolve();
    });
    await a.tryAcquire(key, 'one', 60_000);
    await a.release(key, 'one');
    await within(released.promise, DEADLINE_MS, 'release notification');
    await a.tryAcquire(key, 'two', 50);
    await within(expired.promise, DEADLINE_MS, 'expiry notification');
    await unsubscribe();
    await a.tryAcquire(key, 'three', 60_000);
    await a.release(key, 'three');
    // After unsubscribe (and a marker subscription that did get the release), no third call.
    const marker = deferred();
    const off = await a.onRelease(key, () => marker.resolve());
    await a.tryAcquire(key, 'four', 60_000);
    await a.release(key, 'four');
    await within(marker.promise, DEADLINE_MS, 'marker');
    expect(calls).toBe(2);
    await off();
  });
});
