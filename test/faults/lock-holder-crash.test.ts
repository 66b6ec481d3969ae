/**
 * Lock holder crash (Redis, PostgreSQL): a process holding a lock with ttl 1 s — its lease kept alive by
 * `runExclusive` — is SIGKILLed; a node already waiting for the lock gets it within ttl + 200 ms
 * of the kill. Over every grant of the run (the crashed holders' and the waiter's) the fencing
 * tokens strictly increase.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App, Lock } from 'clusterkit';
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
});
