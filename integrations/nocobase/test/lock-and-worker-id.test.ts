/**
 * Locks and worker ids as NocoBase code expects them, through NocoBase's own `app.lockManager` and
 * `app.workerIdAllocator`: NocoBase's `LockAcquireError`, the `ILock` of `tryAcquire` (reserved
 * until acquire/runExclusive/release), fencing tokens on every releaser and lock; worker ids 0–31
 * unique across live nodes, leased, released on stop, and free again after a dead holder's lease.
 */
import { LockAcquireError } from '@nocobase/lock-manager';
import { createApp, ErrorCodes, LockAcquireError as ClusterkitLockAcquireError, silentLogger } from 'clusterkit';
import { BridgeRuntime, ClusterkitWorkerIdAllocator, type FencedLock, type FencedReleaser } from 'clusterkit/nocobase';
import { createRedisAdapters } from 'clusterkit/redis';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { cleanBrokers } from './broker-state.js';
import { redisBackend, startNode, type TestNode } from './nocobase-node.js';
import { useDatabase, randomName, REDIS_URL } from './services.js';

describe('NocoBase locks and worker ids on clusterkit', () => {
  const db = useDatabase();
  let prefix = '';
  let nodes: TestNode[] = [];
  const runtimes: BridgeRuntime[] = [];
  afterEach(async () => {
    await Promise.allSettled([...nodes.map((node) => node.stop()), ...runtimes.map((runtime) => runtime.stop())]);
    nodes = [];
    runtimes.length = 0;
    await cleanBrokers(prefix, false);
    prefix = '';
  });

  const twoNodes = async () => {
    prefix = randomName('ckn');
    for (let i = 0; i < 2; i++) {
      nodes.push(await startNode({ database: db().name, backend: redisBackend, prefix, cluster: prefix }));
    }
    return nodes;
  };

  /** A bare clusterkit node of the test cluster (no NocoBase), for allocator cases. */
  const runtime = () => {
    const created = new BridgeRuntime({
      name: prefix,
      adapters: createRedisAdapters({ url: REDIS_URL, prefix, onError: () => {} }),
      logger: silentLogger,
    });
    runtimes.push(created);
    return created;
  };

  it("tryAcquire throws NocoBase's own LockAcquireError, now or after its timeout", async () => {
    const [a, b] = await twoNodes();
    const held = (await a!.app.lockManager.acquire('k', 10_000)) as FencedReleaser;
    const now = await b!.app.lockManager.tryAcquire('k').catch((error: unknown) => error);
    expect(now).toBeInstanceOf(LockAcquireError);
    expect((now as Error).message).toBe('lock is locked');
    expect((now as Error).cause).toBeInstanceOf(ClusterkitLockAcquireError);
    const startedAt = performance.now();
    const later = await b!.app.lockManager.tryAcquire('k', 300).catch((error: unknown) => error);
    expect(later).toBeInstanceOf(LockAcquireError);
    expect((later as Error).message).toBe('lock acquire timed out');
    expect(performance.now() - startedAt).toBeGreaterThanOrEqual(290);
    await held();
    const free = (await b!.app.lockManager.tryAcquire('k')) as FencedLock;
    expect(free.fencingToken).toBeGreaterThan(held.fencingToken);
    await free.release();
  });

  it('an ILock from tryAcquire holds the lock until acquire/runExclusive/release, keeping its fencing token', async () => {
    const [a, b] = await twoNodes();
    const lock = (await a!.app.lockManager.tryAcquire('r')) as FencedLock;
    const token = lock.fencingToken;
    await expect(b!.app.lockManager.tryAcquire('r')).rejects.toBeInstanceOf(LockAcquireError);
    const release = (await lock.acquire(5_000)) as FencedReleaser;
    expect(release.fencingToken).toBe(token);
    await lock.extend(5_000);
    await expect(b!.app.lockManager.tryAcquire('r')).rejects.toBeInstanceOf(LockAcquireError);
    await release();

    const again = (await b!.app.lockManager.tryAcquire('r')) as FencedLock;
    expect(again.fencingToken).toBeGreaterThan(token);
    // runExclusive keeps the lease alive past its ttl while fn runs (NocoBase's local adapter would drop it).
    const result = await again.runExclusive(async () => {
      await vi.waitFor(async () => {
        await expect(a!.app.lockManager.tryAcquire('r')).rejects.toBeInstanceOf(LockAcquireError);
      });
      await new Promise((resolve) => setTimeout(resolve, 400));
      await expect(a!.app.lockManager.tryAcquire('r')).rejects.toBeInstanceOf(LockAcquireError);
      return 'done';
    }, 150);
    expect(result).toBe('done');
    const released = (await a!.app.lockManager.tryAcquire('r')) as FencedLock;
    await released.release();
    // A reservation given back without use frees the lock at once.
    await expect(b!.app.lockManager.tryAcquire('r').then((l) => l.release())).resolves.toBeUndefined();
  });

  it('a lock with ttl expires on its own when its holder never releases it', async () => {
    const [a, b] = await twoNodes();
    const releaser = (await a!.app.lockManager.acquire('expiring', 300)) as FencedReleaser;
    const startedAt = performance.now();
    const next = (await b!.app.lockManager.acquire('expiring', 1_000)) as FencedReleaser;
    expect(performance.now() - startedAt).toBeGreaterThanOrEqual(200);
    expect(next.fencingToken).toBeGreaterThan(releaser.fencingToken);
    expect(releaser.signal.aborted).toBe(true);
    await next();
  });

  it('bad lock input is refused at the call', async () => {
    const [a] = await twoNodes();
    await expect(a!.app.lockManager.acquire('', 100)).rejects.toMatchObject({ code: ErrorCodes.INVALID_NAME });
    await expect(a!.app.lockManager.acquire('k', 0)).rejects.toMatchObject({ code: ErrorCodes.INVALID_OPTION });
    await expect(a!.app.lockManager.tryAcquire('k', -1)).rejects.toMatchObject({ code: ErrorCodes.INVALID_OPTION });
    await expect(a!.app.lockManager.runExclusive('k', 'nope' as never, 100)).rejects.toMatchObject({
      code: ErrorCodes.INVALID_ARGUMENT,
    });
  });

  it('worker ids: 32 live nodes hold 0–31, a 33rd is refused, a released id is leased again', async () => {
    prefix = randomName('ckn');
    const allocators = Array.from({ length: 32 }, () => new ClusterkitWorkerIdAllocator(runtime(), { scope: 'main' }));
    const ids = await Promise.all(allocators.map((allocator) => allocator.getWorkerId()));
    expect([...ids].sort((x, y) => x - y)).toEqual(Array.from({ length: 32 }, (_, i) => i));
    expect(await allocators[5]!.getWorkerId()).toBe(ids[5]);
    const extra = new ClusterkitWorkerIdAllocator(runtime(), { scope: 'main' });
    await expect(extra.getWorkerId()).rejects.toMatchObject({ code: ErrorCodes.INVALID_STATE });
    await allocators[7]!.release();
    expect(await extra.getWorkerId()).toBe(ids[7]);
    // Another app's ids are its own.
    expect(await new ClusterkitWorkerIdAllocator(runtime(), { scope: 'other-app' }).getWorkerId()).toEqual(
      expect.any(Number),
    );
  });

  it('a worker id stays leased while its node lives (renewed), and is free after a dead holder’s lease', async () => {
    prefix = randomName('ckn');
    const live = new ClusterkitWorkerIdAllocator(runtime(), { scope: 'main', lease: 300 });
    const id = await live.getWorkerId();
    // Renewed: still held well past one lease.
    await new Promise((resolve) => setTimeout(resolve, 900));
    expect(live.workerId).toBe(id);
    // Holders that never renew (a dead node's leases): every id taken for 400 ms, then left to run out.
    const deadNode = createApp({
      name: prefix,
      logger: silentLogger,
      adapters: createRedisAdapters({ url: REDIS_URL, prefix: `${prefix}`, onError: () => {} }),
    });
    await deadNode.start();
    try {
      await live.release();
      for (let n = 0; n < 32; n++) await deadNode.lockManager.tryAcquire(`worker-id:main:${n}`, 400);
      const next = new ClusterkitWorkerIdAllocator(runtime(), { scope: 'main', lease: 300 });
      await expect(next.getWorkerId()).rejects.toMatchObject({ code: ErrorCodes.INVALID_STATE });
      await vi.waitFor(async () => expect(await next.getWorkerId()).toEqual(expect.any(Number)), {
        timeout: 5_000,
        interval: 100,
      });
    } finally {
      await deadNode.stop();
    }
  });
});
