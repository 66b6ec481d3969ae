/**
 * The manager's uncontended path (one attempt, no waiter) and its single lease-expiry timer: what
 * they must keep of the general path — close() during the attempt, a failed attempt that becomes a
 * wait without an extra round trip, an outage on the first attempt, and every lease's own expiry.
 */
import {
  ClusterError,
  ErrorCodes,
  LockManager,
  MemoryLockAdapter,
  createMemoryBackend,
  standaloneContext,
  type LockAdapter,
  type TryAcquireOptions,
  type TryAcquireResult,
} from 'clusterkit/adapter-kit';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { deferred, within } from './helpers.js';

const DEADLINE_MS = 10_000;

/** A memory adapter that counts attempts and can hold one attempt back, or fail the first ones. */
class GatedAdapter extends MemoryLockAdapter {
  attempts = 0;
  gate: Promise<void> | undefined;
  outages = 0;

  override async tryAcquire(
    key: string,
    owner: string,
    ttlMs: number,
    options?: TryAcquireOptions,
  ): Promise<TryAcquireResult> {
    this.attempts += 1;
    if (this.outages > 0) {
      this.outages -= 1;
      throw new ClusterError(ErrorCodes.BACKEND_UNAVAILABLE, 'backend down (test)');
    }
    const result = await super.tryAcquire(key, owner, ttlMs, options);
    const gate = this.gate;
    this.gate = undefined;
    if (gate) await gate;
    return result;
  }
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('LockManager uncontended path', () => {
  it('close() during the first attempt rejects with NOT_CONNECTED and frees the lease it got', async () => {
    const backend = createMemoryBackend();
    const adapter = new GatedAdapter(backend);
    const manager = new LockManager({ adapter });
    await manager.connect();
    const gate = deferred();
    adapter.gate = gate.promise;
    const acquiring = manager.acquire('k', 60_000);
    await vi.waitFor(() => expect(adapter.attempts).toBe(1));
    const closing = manager.close();
    gate.resolve();
    await expect(acquiring).rejects.toMatchObject({ code: ErrorCodes.NOT_CONNECTED });
    await closing;
    const other = new LockManager({ adapter: new MemoryLockAdapter(backend) });
    const lock = await other.tryAcquire('k');
    expect(await lock.release()).toBe(true);
    await other.close();
  });

  it('a failed first attempt becomes a wait with one more attempt after subscribing, not two', async () => {
    const backend = createMemoryBackend();
    const holder = new LockManager({ adapter: new MemoryLockAdapter(backend) });
    const adapter = new GatedAdapter(backend);
    const waiter = new LockManager({ adapter });
    const held = await holder.acquire('k');
    const waiting = waiter.acquire('k');
    await vi.waitFor(() => expect(adapter.attempts).toBe(2));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(adapter.attempts).toBe(2);
    await held.release();
    const lock = await within(waiting, DEADLINE_MS, 'hand-off');
    expect(lock.fencingToken).toBeGreaterThan(held.fencingToken);
    await lock.release();
    await Promise.all([holder.close(), waiter.close()]);
  });

  it('an outage on the first attempt is reported once and retried with backoff until the lock is taken', async () => {
    const adapter = new GatedAdapter(createMemoryBackend());
    const warn = vi.fn();
    const logger = { debug: () => {}, info: () => {}, warn, error: () => {} };
    const manager = new LockManager({ adapter, context: standaloneContext({ logger }) });
    await manager.connect();
    adapter.outages = 2;
    const lock = await within(manager.acquire('k'), DEADLINE_MS, 'acquire after outage');
    expect(adapter.attempts).toBe(3);
    expect(warn).toHaveBeenCalledTimes(1);
    expect(await lock.release()).toBe(true);
    await manager.close();
  });

  it('tryAcquire on a held lock rejects with LOCK_ACQUIRE_FAILED and takes no place in line', async () => {
    const backend = createMemoryBackend();
    const holder = new LockManager({ adapter: new MemoryLockAdapter(backend) });
    const other = new LockManager({ adapter: new MemoryLockAdapter(backend) });
    const held = await holder.acquire('k');
    await expect(other.tryAcquire('k')).rejects.toMatchObject({ code: ErrorCodes.LOCK_ACQUIRE_FAILED });
    await held.release();
    // Nobody stands in line now: a plain tryAcquire succeeds at once.
    const lock = await other.tryAcquire('k');
    await lock.release();
    await Promise.all([holder.close(), other.close()]);
  });
});

describe('LockManager lease expiry (one timer per manager)', () => {
  it('every held lease aborts its own signal at its own end, also one taken after a longer one', async () => {
    const manager = new LockManager({ adapter: noExpiryAdapter() });
    const long = await manager.acquire('long', 5_000);
    const startedAt = Date.now();
    const short = await manager.acquire('short', 150);
    const lost = deferred<unknown>();
    short.signal.addEventListener('abort', () => lost.resolve(short.signal.reason));
    const reason = await within(lost.promise, DEADLINE_MS, 'short lease expiry');
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(140);
    expect(reason).toMatchObject({ code: ErrorCodes.LOCK_LOST });
    expect(short.held).toBe(false);
    expect(long.held).toBe(true);
    expect(long.signal.aborted).toBe(false);
    expect(await long.release()).toBe(true);
    await manager.close();
  });

  it('an extend moves the end; a released lease never aborts', async () => {
    const manager = new LockManager({ adapter: noExpiryAdapter() });
    const kept = await manager.acquire('kept', 200);
    const released = await manager.acquire('released', 100);
    await released.release();
    await new Promise((resolve) => setTimeout(resolve, 120));
    await kept.extend(400);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(kept.held).toBe(true);
    expect(released.signal.aborted).toBe(false);
    const lost = deferred();
    kept.signal.addEventListener('abort', () => lost.resolve());
    await within(lost.promise, DEADLINE_MS, 'extended lease expiry');
    await manager.close();
  });

  it('sequential acquire+release pairs arm no timer per pair', async () => {
    const manager = new LockManager({ adapter: noExpiryAdapter() });
    await manager.connect();
    const setTimeoutSpy = vi.spyOn(globalThis, 'setTimeout');
    for (let i = 0; i < 100; i += 1) {
      const lock = await manager.acquire('k');
      await lock.release();
    }
    expect(setTimeoutSpy.mock.calls.length).toBeLessThanOrEqual(1);
    await manager.close();
  });
});

/** An adapter whose leases never end on the backend: only the manager's local expiry can end them. */
function noExpiryAdapter(): LockAdapter {
  const holders = new Map<string, string>();
  let token = 0;
  return {
    capabilities: { fifo: true },
    connect: async () => {},
    close: async () => {},
    tryAcquire: async (key, owner) => {
      if (holders.has(key) && holders.get(key) !== owner) return { acquired: false, retryAfterMs: 1_000 };
      holders.set(key, owner);
      token += 1;
      return { acquired: true, fencingToken: token };
    },
    release: async (key, owner) => holders.get(key) === owner && holders.delete(key),
    extend: async (key, owner) => holders.get(key) === owner,
    onRelease: async () => async () => {},
  };
}
