/**
 * Lock holder crash (Redis, PostgreSQL): a process holding a lock with ttl 1 s — its lease kept alive by
 * `runExclusive` — is SIGKILLed; a node already waiting for the lock gets it within ttl + 200 ms
 * of the kill. Over every grant of the run (the crashed holders' and the waiter's) the fencing
 * tokens strictly increase.
 *
 * Lock waiter crash (Redis, PostgreSQL): a process standing in the key's line (its place: ttl 1 s, renewed
 * while it waits) is SIGKILLed without leaving it. The node behind it is not blocked beyond the
 * dead waiter's deadline: released at once, the lock may be handed to the dead waiter and comes
 * back when that lease ends (≤ 2 × ttl after the kill); released after the place lapsed, it goes
 * straight to the live node.
 */
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App, Lock } from 'clusterkit';
import { scanKeys } from '../conformance/redis-factory.js';
import { waitUntil } from '../redis/redis-servers.js';
import { randomName } from '../helpers.js';
import { brokerScope, type BrokerScope } from './backends.js';
import { DATABASE_URL, figure, REDIS_URL, WorkerProcess } from './fault-helpers.js';

const TTL_MS = 1_000;
const ROUNDS = 5;

describe.each(['redis', 'postgres'] as const)('faults: lock holder crash (%s)', (backend) => {
  let scope: BrokerScope;
  let waiter: App;
  const key = randomName('resource');

  beforeAll(async () => {
    scope = brokerScope(backend);
    waiter = scope.app();
    await waiter.start();
  }, 60_000);

  afterAll(async () => {
    await scope?.dispose([]);
  }, 60_000);

  it(`hands a SIGKILLed holder's lock to a waiter within ttl + 200 ms, tokens strictly increasing (${ROUNDS} rounds)`, async () => {
    const grants: { who: string; token: number }[] = [];
    const killToGrant: number[] = [];
    for (let round = 0; round < ROUNDS; round += 1) {
      const holder = new WorkerProcess('lock-holder.ts', {
        CK_BACKEND: backend,
        REDIS_URL,
        DATABASE_URL,
        CK_PREFIX: scope.prefix,
        CK_APP: scope.appName,
        CK_KEY: key,
        CK_TTL_MS: String(TTL_MS),
      });
      try {
        const held = await holder.next((m) => m.type === 'held', `holder ${round} holding the lock`);
        grants.push({ who: `holder ${round}`, token: held.fencingToken as number });
        // The waiter is queued on the lock before the holder dies.
        const waiting: Promise<Lock> = waiter.lockManager.acquire(key, TTL_MS);
        await holder.kill();
        const killedAt = Date.now();
        const lock = await waiting;
        killToGrant.push(Date.now() - killedAt);
        grants.push({ who: `waiter ${round}`, token: lock.fencingToken });
        await lock.release();
      } finally {
        await holder.kill();
      }
    }
    figure(`lock-holder-crash/${backend}`, 'kill → grant ms per round', killToGrant);
    figure(`lock-holder-crash/${backend}`, 'kill → grant ms max', Math.max(...killToGrant));
    figure(
      `lock-holder-crash/${backend}`,
      'fencing tokens',
      grants.map((g) => g.token),
    );

    for (const ms of killToGrant) expect(ms).toBeLessThanOrEqual(TTL_MS + 200);
    for (let i = 1; i < grants.length; i += 1) expect(grants[i]!.token).toBeGreaterThan(grants[i - 1]!.token);
  }, 180_000);

  /** Places in the key's line (owner → "<deadline ms> …"), and the backend's clock (ms), read from the backend. */
  async function line(raw: Redis, db: pg.Pool): Promise<{ places: Record<string, string>; now: number }> {
    if (backend === 'postgres') {
      const { rows } = await db.query<{ owner: string; deadline: string }>(
        `SELECT w.owner, floor(extract(epoch FROM w.expires_at) * 1000)::text AS deadline
         FROM "${scope.prefix}".lock_waiters w WHERE w.key = $1`,
        [`${scope.appName}:${key}`],
      );
      const clock = await db.query<{ now: string }>(
        `SELECT floor(extract(epoch FROM clock_timestamp()) * 1000)::text AS now`,
      );
      return {
        places: Object.fromEntries(rows.map((r) => [r.owner, `${r.deadline} ${TTL_MS}`])),
        now: Number(clock.rows[0]!.now),
      };
    }
    const [placesKey] = await scanKeys(raw, `${scope.prefix}:lock:*${key}*:places`);
    const [seconds, micros] = await raw.time();
    const places = placesKey ? await raw.hgetall(placesKey) : {};
    return { places, now: Number(seconds) * 1000 + Math.floor(Number(micros) / 1000) };
  }

  it('does not let a SIGKILLed waiter block the line beyond its deadline', async () => {
    const raw = new Redis(REDIS_URL);
    const db = new pg.Pool({ connectionString: DATABASE_URL, max: 1 });
    const behind = scope.app();
    await behind.start();
    const figures: Record<string, number> = {};
    try {
      for (const when of ['at once', 'after the place lapsed'] as const) {
        const held = await waiter.lockManager.acquire(key, 30_000);
        const doomed = new WorkerProcess('lock-holder.ts', {
          CK_BACKEND: backend,
          REDIS_URL,
          DATABASE_URL,
          CK_PREFIX: scope.prefix,
          CK_APP: scope.appName,
          CK_KEY: key,
          CK_TTL_MS: String(TTL_MS),
          CK_MODE: 'wait',
        });
        try {
          await doomed.next((m) => m.type === 'waiting', 'the doomed waiter calling acquire');
          await waitUntil(
            async () => Object.keys((await line(raw, db)).places).length === 1,
            10_000,
            'the doomed waiter in line',
          );
          const next = behind.lockManager.acquire(key, 30_000);
          await waitUntil(
            async () => Object.keys((await line(raw, db)).places).length === 2,
            10_000,
            'the live waiter in line',
          );
          await doomed.kill();
          const killedAt = Date.now();
          if (when === 'after the place lapsed') {
            // Until the dead waiter's deadline (server clock) has passed; nothing announces it.
            await waitUntil(
              async () => {
                const { places, now } = await line(raw, db);
                return Object.values(places).some((place) => Number(place.split(' ')[0]) < now);
              },
              10_000,
              'the dead place lapsing',
            );
          }
          const releasedAt = Date.now();
          await held.release();
          const lock = await next;
          figures[`${when}: kill → grant ms`] = Date.now() - killedAt;
          figures[`${when}: release → grant ms`] = Date.now() - releasedAt;
          if (when === 'at once') expect(Date.now() - killedAt).toBeLessThanOrEqual(2 * TTL_MS + 200);
          else expect(Date.now() - releasedAt).toBeLessThanOrEqual(200);
          expect(lock.fencingToken).toBeGreaterThan(held.fencingToken);
          await lock.release();
        } finally {
          await doomed.kill();
        }
      }
      figure(`lock-waiter-crash/${backend}`, 'timings', figures);
    } finally {
      await raw.quit();
      await db.end();
    }
  }, 120_000);
});
