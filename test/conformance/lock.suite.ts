/**
 * Lock conformance: the public API of `app.lockManager`, run unchanged on every backend with
 * several nodes per test. No fixed sleeps: expiry tests use short ttls and wait on events with a
 * deadline; "no one else got it" is proven by a timed-out acquire, which is itself an event.
 */
import { ClusterError, ErrorCodes, LockAcquireError, type App, type Lock } from 'clusterkit';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { codeOf } from '../code-of.js';
import { deferred, randomName, within } from '../helpers.js';
import type { ClusterFactory, TestCluster } from './cluster.js';
import { startNodes } from './start-nodes.js';

const DEADLINE_MS = 10_000;
/** Short enough to expire within a test; long enough that a busy event loop does not miss a keep-alive. */
const SHORT_TTL_MS = 1_000;
/** So long that a lock obtained within DEADLINE_MS cannot have been freed by expiry. */
const LONG_TTL_MS = 30_000;

/** Yields to the event loop a few times: a critical section with real async gaps in it. */
async function someAsyncWork(): Promise<void> {
  for (let i = 0; i < 3; i += 1) await new Promise<void>((resolve) => setImmediate(resolve));
}

/**
 * Marks a promise the test awaits later as handled now: if an assertion fails first, the cluster's
 * disposal rejects it (manager closed) and that must not surface as an unhandled rejection.
 */
function unhandledOk<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => {});
  return promise;
}

/** Runs the lock suite against `factory`'s backend. */
export function lockSuite(factory: ClusterFactory): void {
  describe(`lock [${factory.label}]`, () => {
    let cluster: TestCluster;
    let key: string;

    beforeEach(() => {
      cluster = factory.create();
      key = randomName('lock');
    });
    afterEach(async () => {
      await cluster.dispose();
    });

    const nodes = (count: number, options?: Parameters<TestCluster['node']>[0]): Promise<App[]> =>
      startNodes(cluster, count, options);

    it('gives mutual exclusion across 3 nodes, with fencing tokens increasing in entry order', async () => {
      const apps = await nodes(3);
      let inside = 0;
      let overlaps = 0;
      let count = 0;
      const tokens: number[] = [];
      const perNode = 8;
      await within(
        Promise.all(
          apps.flatMap((app) =>
            Array.from({ length: perNode }, () =>
              app.lockManager.runExclusive(key, async (lock) => {
                inside += 1;
                if (inside > 1) overlaps += 1;
                tokens.push(lock.fencingToken);
                const seen = count;
                await someAsyncWork();
                count = seen + 1; // a lost update would show if two sections overlapped
                inside -= 1;
              }),
            ),
          ),
        ),
        DEADLINE_MS * 3,
        'all critical sections',
      );
      expect(overlaps).toBe(0);
      expect(count).toBe(3 * perNode);
      for (let i = 1; i < tokens.length; i += 1) expect(tokens[i]!).toBeGreaterThan(tokens[i - 1]!);
    });

    it('frees a crashed holder on ttl expiry, and the lost handle learns it through its signal', async () => {
      const [a, b] = await nodes(2);
      const crashed = await a!.lockManager.acquire(key, SHORT_TTL_MS); // never released nor extended
      const lost = deferred<unknown>();
      crashed.signal.addEventListener('abort', () => lost.resolve(crashed.signal.reason));

      const next = await within(b!.lockManager.acquire(key, LONG_TTL_MS), DEADLINE_MS, 'acquire after expiry');
      const reason = await within(lost.promise, DEADLINE_MS, 'lost-lease signal');
      expect(reason).toBeInstanceOf(ClusterError);
      expect((reason as ClusterError).code).toBe(ErrorCodes.LOCK_LOST);
      expect(next.fencingToken).toBeGreaterThan(crashed.fencingToken);
      await next.release();
    });

    it('refuses release and extend by a handle that lost its lease to another node', async () => {
      const [a, b, c] = await nodes(3);
      const stale = await a!.lockManager.acquire(key, SHORT_TTL_MS);
      const current = await within(b!.lockManager.acquire(key, LONG_TTL_MS), DEADLINE_MS, 'takeover');

      expect(await stale.release()).toBe(false);
      expect(await codeOf(stale.extend(LONG_TTL_MS))).toBe(ErrorCodes.LOCK_NOT_OWNER);
      // The new holder is untouched: a third node still finds the lock held.
      expect(await codeOf(c!.lockManager.tryAcquire(key))).toBe(ErrorCodes.LOCK_ACQUIRE_FAILED);
      expect(current.held).toBe(true);
      expect(await current.release()).toBe(true);
    });

    it('hands out strictly increasing fencing tokens across nodes', async () => {
      const apps = await nodes(3);
      const tokens: number[] = [];
      for (let round = 0; round < 9; round += 1) {
        const lock = await apps[round % 3]!.lockManager.acquire(key);
        tokens.push(lock.fencingToken);
        await lock.release();
      }
      for (let i = 1; i < tokens.length; i += 1) expect(tokens[i]!).toBeGreaterThan(tokens[i - 1]!);
    });

    it('wakes a waiter on another node when the lock is released, long before the lease would expire', async () => {
      const [a, b, c] = await nodes(3);
      const held = await a!.lockManager.acquire(key, LONG_TTL_MS);
      const waiting = unhandledOk(b!.lockManager.acquire(key, LONG_TTL_MS));
      // A round trip to the backend from a third node: the lock is still held, the waiter still waits.
      expect(await codeOf(c!.lockManager.tryAcquire(key))).toBe(ErrorCodes.LOCK_ACQUIRE_FAILED);
      expect(await held.release()).toBe(true);
      // Obtained within DEADLINE_MS, a third of the 30 s lease: it was the release that woke it.
      const got = await within(waiting, DEADLINE_MS, 'waiter woken by release');
      expect(got.fencingToken).toBeGreaterThan(held.fencingToken);
      await got.release();
    });

    it('serves waiters on one node first come, first served', async () => {
      const [a, b] = await nodes(2);
      const held = await a!.lockManager.acquire(key, LONG_TTL_MS);
      const order: number[] = [];
      const runs = [0, 1, 2, 3, 4].map((i) =>
        b!.lockManager.runExclusive(key, async () => {
          order.push(i);
        }),
      );
      expect(await codeOf(a!.lockManager.tryAcquire(key))).toBe(ErrorCodes.LOCK_ACQUIRE_FAILED);
      await held.release();
      await within(Promise.all(runs), DEADLINE_MS, 'queued sections');
      expect(order).toEqual([0, 1, 2, 3, 4]);
    });

    // Fairness across nodes: adapters with capability `fifo` keep one line of waiters per key in the
    // backend and hand the lock to its head on release. (Redlock quorum mode declares fifo: false.)
    const fifo = (app: App): boolean => app.lockManager.capabilities.fifo;

    it('serves nodes in FIFO order: 3 nodes looping runExclusive on one key take turns', async (ctx) => {
      const apps = await nodes(3);
      if (!fifo(apps[0]!)) return ctx.skip();
      const grants: number[] = [];
      const wanted = 30;
      // Line joins each node had made when it was last granted: a node with more joins than that
      // stands in the line again. The holder releases only once both other nodes do, so the order
      // of the line is what the test sees, not how fast a loaded machine lets a node re-join.
      const joinsAtGrant = apps.map(() => 0);
      const inLineAgain = (id: number) => cluster.lineJoins(apps[id]!) > joinsAtGrant[id]!;
      await within(
        Promise.all(
          apps.map(async (app, id) => {
            while (grants.length < wanted) {
              await app.lockManager.runExclusive(key, async () => {
                joinsAtGrant[id] = cluster.lineJoins(app);
                grants.push(id);
                await someAsyncWork();
                if (grants.length >= wanted) return;
                const others = apps.map((_, other) => other).filter((other) => other !== id);
                await vi.waitFor(
                  () => {
                    if (!others.every(inLineAgain)) throw new Error(`nodes ${JSON.stringify(others)} not all in line`);
                  },
                  { timeout: DEADLINE_MS, interval: 1 },
                );
              });
            }
          }),
        ),
        DEADLINE_MS * 3,
        'looping nodes',
      );
      // Every node waits in line when a release happens, so each release hands the lock to the node
      // that has waited longest: strict rotation, every node gets a third of the grants. An unfair
      // lock (the releasing node re-taking it, or a later joiner served first) breaks it.
      const perNode = apps.map((_, id) => grants.filter((g) => g === id).length);
      const steady = grants;
      const broken: number[] = [];
      for (let i = 2; i < steady.length; i += 1) if (new Set(steady.slice(i - 2, i + 1)).size !== 3) broken.push(i);
      expect(broken, `grants ${JSON.stringify(grants)}`).toEqual([]);
      expect(Math.min(...perNode), `grants per node ${JSON.stringify(perNode)}`).toBeGreaterThanOrEqual(wanted / 3 - 1);
    });

    it('tryAcquire does not jump the line: refused right after a release while another node waits', async (ctx) => {
      const [a, b, c] = await nodes(3);
      if (!fifo(a!)) return ctx.skip();
      const held = await a!.lockManager.acquire(key, LONG_TTL_MS);
      const waiting = unhandledOk(b!.lockManager.acquire(key, LONG_TTL_MS));
      await within(cluster.inLine(b!), DEADLINE_MS, 'b joining the line');
      expect(await codeOf(c!.lockManager.tryAcquire(key))).toBe(ErrorCodes.LOCK_ACQUIRE_FAILED);
      expect(await held.release()).toBe(true);
      // The release handed the lock to b: it is never free for a barging tryAcquire, not even for an instant.
      expect(await codeOf(c!.lockManager.tryAcquire(key))).toBe(ErrorCodes.LOCK_ACQUIRE_FAILED);
      expect(await codeOf(a!.lockManager.tryAcquire(key))).toBe(ErrorCodes.LOCK_ACQUIRE_FAILED);
      const got = await within(waiting, DEADLINE_MS, 'the queued waiter');
      expect(got.fencingToken).toBeGreaterThan(held.fencingToken);
      await got.release();
    });

    it('a waiter that times out or is aborted leaves the line; the next one gets the lock on release', async (ctx) => {
      const [a, b, c] = await nodes(3);
      if (!fifo(a!)) return ctx.skip();
      const held = await a!.lockManager.acquire(key, LONG_TTL_MS);
      // Both leave the line long before their place (30 s) would lapse on its own.
      const timedOut = unhandledOk(b!.lockManager.acquire(key, LONG_TTL_MS, { timeout: 100 }));
      await expect(within(timedOut, DEADLINE_MS, 'timed-out waiter')).rejects.toBeInstanceOf(LockAcquireError);
      const controller = new AbortController();
      const aborted = unhandledOk(b!.lockManager.acquire(key, LONG_TTL_MS, { signal: controller.signal }));
      expect(await codeOf(c!.lockManager.tryAcquire(key))).toBe(ErrorCodes.LOCK_ACQUIRE_FAILED);
      const reason = new Error('caller gave up');
      controller.abort(reason);
      await expect(within(aborted, DEADLINE_MS, 'aborted waiter')).rejects.toBe(reason);
      const waiting = unhandledOk(c!.lockManager.acquire(key, LONG_TTL_MS));
      await within(cluster.inLine(c!), DEADLINE_MS, 'c joining the line');
      expect(await codeOf(b!.lockManager.tryAcquire(key))).toBe(ErrorCodes.LOCK_ACQUIRE_FAILED);
      await held.release();
      // Handed to a departed waiter, it would stay taken for its 30 s lease.
      const got = await within(waiting, DEADLINE_MS, 'the remaining waiter');
      await got.release();
    });

    it('a waiter whose node crashed drops out of the line by its deadline and does not block the others', async (ctx) => {
      const [a, c] = await nodes(2);
      if (!fifo(a!)) return ctx.skip();
      const crashing = cluster.crashableNode();
      await crashing.app.start();
      const held = await a!.lockManager.acquire(key, LONG_TTL_MS);
      // Its place in the line is a lease of SHORT_TTL_MS, renewed while it waits — until the crash.
      const doomed = crashing.app.lockManager.acquire(key, SHORT_TTL_MS).then(
        () => 'granted',
        () => 'failed',
      );
      expect(await codeOf(c!.lockManager.tryAcquire(key))).toBe(ErrorCodes.LOCK_ACQUIRE_FAILED);
      crashing.crash();
      const waiting = unhandledOk(c!.lockManager.acquire(key, LONG_TTL_MS));
      expect(await codeOf(a!.lockManager.tryAcquire(key))).toBe(ErrorCodes.LOCK_ACQUIRE_FAILED);
      const releasedAt = Date.now();
      await held.release();
      // The release hands the lock to the dead waiter if its place has not lapsed yet: it is then freed
      // like a crashed holder's, SHORT_TTL_MS later. Either way c waits at most two short ttls.
      const got = await within(waiting, DEADLINE_MS, 'the live waiter behind the crashed one');
      expect(Date.now() - releasedAt).toBeLessThan(SHORT_TTL_MS * 2 + 1_500);
      expect(await within(doomed, DEADLINE_MS, 'the crashed waiter giving up')).toBe('failed');
      await got.release();
    });

    it('runExclusive returns the value of fn and passes it the lock', async () => {
      const [a] = await nodes(1);
      const result = await a!.lockManager.runExclusive(key, async (lock: Lock) => {
        expect(lock.key).toBe(key);
        expect(lock.signal.aborted).toBe(false);
        return { answer: 42, token: lock.fencingToken };
      });
      expect(result.answer).toBe(42);
      expect(result.token).toBeGreaterThan(0);
    });

    it('runExclusive releases the lock when fn throws', async () => {
      const [a, b] = await nodes(2);
      const boom = new Error('boom');
      await expect(
        a!.lockManager.runExclusive(
          key,
          async () => {
            throw boom;
          },
          LONG_TTL_MS,
        ),
      ).rejects.toBe(boom);
      const lock = await b!.lockManager.tryAcquire(key);
      await lock.release();
    });

    it('runExclusive keeps its lease alive while fn runs past the ttl', async () => {
      const [a, b] = await nodes(2);
      const entered = deferred<Lock>();
      const finish = deferred();
      const section = a!.lockManager.runExclusive(
        key,
        async (lock) => {
          entered.resolve(lock);
          await finish.promise;
          return 'done';
        },
        SHORT_TTL_MS,
      );
      const lock = await within(entered.promise, DEADLINE_MS, 'enter section');
      // Another node waits three ttls for the lock and must give up: the lease was extended meanwhile.
      const error = await b!.lockManager.acquire(key, SHORT_TTL_MS, { timeout: SHORT_TTL_MS * 3 }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(LockAcquireError);
      expect(lock.signal.aborted).toBe(false);
      finish.resolve();
      await expect(section).resolves.toBe('done');
      const after = await within(b!.lockManager.acquire(key), DEADLINE_MS, 'acquire after section');
      expect(after.fencingToken).toBeGreaterThan(lock.fencingToken);
      await after.release();
    });

    it('tryAcquire throws LockAcquireError while the lock is held, and succeeds once it is free', async () => {
      const [a, b] = await nodes(2);
      const held = await a!.lockManager.tryAcquire(key, LONG_TTL_MS);
      const error = await b!.lockManager.tryAcquire(key).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(LockAcquireError);
      expect((error as LockAcquireError).code).toBe(ErrorCodes.LOCK_ACQUIRE_FAILED);
      await held.release();
      const mine = await b!.lockManager.tryAcquire(key);
      await mine.release();
    });

    it('acquire with a timeout rejects with LockAcquireError; an aborted signal stops the wait', async () => {
      const [a, b] = await nodes(2);
      const held = await a!.lockManager.acquire(key, LONG_TTL_MS);
      await expect(b!.lockManager.acquire(key, undefined, { timeout: 50 })).rejects.toBeInstanceOf(LockAcquireError);
      const controller = new AbortController();
      const waiting = b!.lockManager.acquire(key, undefined, { signal: controller.signal });
      const reason = new Error('caller gave up');
      controller.abort(reason);
      await expect(within(waiting, DEADLINE_MS, 'abort')).rejects.toBe(reason);
      await held.release();
    });

    it('release is idempotent and extend after release is refused', async () => {
      const [a] = await nodes(1);
      const lock = await a!.lockManager.acquire(key, LONG_TTL_MS);
      await lock.extend(LONG_TTL_MS * 2);
      expect(lock.ttl).toBe(LONG_TTL_MS * 2);
      expect(await lock.release()).toBe(true);
      expect(await lock.release()).toBe(false);
      expect(lock.held).toBe(false);
      expect(await codeOf(lock.extend())).toBe(ErrorCodes.LOCK_NOT_OWNER);
      expect(lock.signal.aborted).toBe(false); // released on purpose, not lost
    });

    it('stopping a node releases its locks and rejects its waiters with NOT_CONNECTED', async () => {
      const [a, b, c] = await nodes(3);
      const held = await a!.lockManager.acquire(key, LONG_TTL_MS);
      // Observed from the start: the rejection arrives while stop() is still running.
      const waiting = codeOf(b!.lockManager.acquire(key));
      expect(await codeOf(c!.lockManager.tryAcquire(key))).toBe(ErrorCodes.LOCK_ACQUIRE_FAILED);
      await b!.stop();
      expect(await within(waiting, DEADLINE_MS, 'waiter rejected')).toBe(ErrorCodes.NOT_CONNECTED);
      await a!.stop();
      expect(held.signal.aborted).toBe(true);
      const lock = await c!.lockManager.tryAcquire(key);
      await lock.release();
      expect(await codeOf(a!.lockManager.acquire(key))).toBe(ErrorCodes.NOT_CONNECTED);
    });

    it('keeps apps with different names apart on one backend', async () => {
      const [a] = await nodes(1);
      const [other] = await nodes(1, { name: randomName('ck-other') });
      const mine = await a!.lockManager.tryAcquire(key, LONG_TTL_MS);
      const theirs = await other!.lockManager.tryAcquire(key, LONG_TTL_MS);
      await Promise.all([mine.release(), theirs.release()]);
    });

    it('refuses bad input at the call with a coded error', async () => {
      const [a] = await nodes(1);
      const lm = a!.lockManager;
      const cases: [string, () => Promise<unknown>, string][] = [
        ['empty key', () => lm.acquire(''), ErrorCodes.INVALID_NAME],
        ['whitespace key', () => lm.tryAcquire('  '), ErrorCodes.INVALID_NAME],
        ['control char key', () => lm.acquire('a\nb'), ErrorCodes.INVALID_NAME],
        ['non-string key', () => lm.acquire(42 as unknown as string), ErrorCodes.INVALID_NAME],
        ['over-long key', () => lm.acquire('k'.repeat(600)), ErrorCodes.INVALID_NAME],
        ['ttl 0', () => lm.acquire(key, 0), ErrorCodes.INVALID_OPTION],
        ['negative ttl', () => lm.tryAcquire(key, -5), ErrorCodes.INVALID_OPTION],
        ['NaN ttl', () => lm.acquire(key, Number.NaN), ErrorCodes.INVALID_OPTION],
        ['Infinity ttl', () => lm.runExclusive(key, () => 1, Number.POSITIVE_INFINITY), ErrorCodes.INVALID_OPTION],
        ['negative timeout', () => lm.acquire(key, 1000, { timeout: -1 }), ErrorCodes.INVALID_OPTION],
        ['unknown option', () => lm.acquire(key, 1000, { wait: 5 } as object), ErrorCodes.UNKNOWN_OPTION],
        [
          'signal not an AbortSignal',
          () => lm.acquire(key, 1000, { signal: {} as AbortSignal }),
          ErrorCodes.INVALID_OPTION,
        ],
        ['fn not a function', () => lm.runExclusive(key, 'nope' as unknown as () => void), ErrorCodes.INVALID_ARGUMENT],
      ];
      for (const [what, call, code] of cases) {
        expect(await codeOf(call()), what).toBe(code);
      }
      // Nothing was taken by the refused calls.
      const lock = await lm.tryAcquire(key);
      await lock.release();
    });
  });
}
