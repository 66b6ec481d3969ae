/**
 * Broker outage on Redis: a private `redis-server --appendonly yes --appendfsync always` is SIGKILLed and started again
 * (same port, same AOF) while 10,000 jobs are published and consumed. Producers get a coded error
 * (`BACKEND_UNAVAILABLE`) while it is down, never a silent drop; every publish that resolved is
 * handled; the workers resume within 5 s of Redis answering again.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCodes, type App } from 'clusterkit';
import { brokerScope, type BrokerScope } from './backends.js';
import { bookkeepingClient, figure, haveRedisServer, PrivateRedis, waitUntil } from './fault-helpers.js';
import { allHandled, failureText, HandledLog, publishThrough, recordOn } from './outage-load.js';

const TOTAL = 10_000;
const CHANNEL = 'outage-work';

describe.skipIf(!haveRedisServer())('faults: Redis outage during a 10k-job run', () => {
  let server: PrivateRedis;
  let scope: BrokerScope;
  let producer: App;
  let workers: App[];
  const log = new HandledLog();

  beforeAll(async () => {
    server = await PrivateRedis.start({ appendonly: true });
    scope = brokerScope('redis', server.url);
    // Jobs active at the kill are recovered as stalled: 2 s claims checked every second (defaults 30 s).
    const tuning = { lockDurationMs: 2_000, stalledIntervalMs: 1_000 };
    producer = scope.app({}, tuning);
    workers = [scope.app({}, tuning), scope.app({}, tuning)];
    await recordOn(workers, CHANNEL, log);
    await Promise.all([producer, ...workers].map((app) => app.start()));
  }, 60_000);

  afterAll(async () => {
    await scope?.dispose([CHANNEL]);
    await server?.destroy();
  }, 60_000);

  it('loses nothing acknowledged, fails producers with a code while down, and resumes workers within 5 s', async () => {
    const started = Date.now();
    let killedAt = 0;
    const { stats, backAt } = await publishThrough(producer, CHANNEL, {
      total: TOTAL,
      inFlight: 32,
      outageAt: 3_000,
      outage: async (s) => {
        await server.kill();
        killedAt = Date.now();
        const before = [...s.failures.values()].reduce((a, b) => a + b, 0);
        // Down until producers have visibly been refused a few times.
        await waitUntil(
          () => [...s.failures.values()].reduce((a, b) => a + b, 0) >= before + 20,
          30_000,
          'publishes refused',
        );
        await server.start();
        return Date.now();
      },
    });
    await allHandled(log, TOTAL, 120_000).catch(async (error: unknown) => {
      // Say where the unhandled ones are (queued, active, dead, or gone) before failing.
      const missing = [...stats.acked].filter((n) => !log.counts.has(n));
      const client = bookkeepingClient(server.url);
      const base = `${scope.prefix}:q:{${scope.appName}%3A${CHANNEL}}`;
      const present = await Promise.all(missing.slice(0, 20).map((n) => client.exists(`${base}:m-${n}`)));
      client.disconnect();
      figure('outage/redis', 'NOT HANDLED', {
        missing: missing.length,
        counts: await producer.eventQueue.counts(CHANNEL),
        sample: missing.slice(0, 20),
        jobHashExists: present,
      });
      throw error;
    });
    const resumeMs = log.resumedAfter(backAt, stats.ackedAt);

    figure('outage/redis', 'acknowledged', stats.acked.size);
    figure('outage/redis', 'down ms', backAt - killedAt);
    figure('outage/redis', 'publish rejections', failureText(stats.failures));
    figure('outage/redis', 'slowest rejection ms', stats.slowestFailureMs);
    figure('outage/redis', 'workers resumed ms after Redis answered', resumeMs);
    figure('outage/redis', 'duplicates', log.duplicates);
    figure('outage/redis', 'wall ms', Date.now() - started);

    expect(stats.acked.size).toBe(TOTAL);
    const missing = [...stats.acked].filter((n) => !log.counts.has(n));
    expect(missing).toEqual([]);
    // Clear errors only: every refusal is BACKEND_UNAVAILABLE, none hung, none uncoded.
    expect([...stats.failures.keys()]).toEqual([ErrorCodes.BACKEND_UNAVAILABLE]);
    expect(resumeMs).toBeLessThanOrEqual(5_000);
  }, 300_000);
});
