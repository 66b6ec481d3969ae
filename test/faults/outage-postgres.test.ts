/**
 * Database outage on PostgreSQL: a private cluster (never the shared one) is stopped crash-like
 * (`pg_ctl stop -m immediate`: every backend killed, no checkpoint) and started again (WAL replay)
 * while 10,000 messages are published and consumed. Producers get a coded error
 * (`BACKEND_UNAVAILABLE`) while it is down, never a silent drop; every publish that resolved is
 * handled; the consumers resume within 5 s of the database answering again.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCodes, type App } from 'clusterkit';
import { havePostgresBinaries, PrivatePostgres } from '../postgres/private-postgres.js';
import { brokerScope, type BrokerScope } from './backends.js';
import { figure, REDIS_URL, waitUntil } from './fault-helpers.js';
import { allHandled, failureText, HandledLog, publishThrough, recordOn } from './outage-load.js';

const TOTAL = 10_000;
const CHANNEL = 'outage-work';

describe.skipIf(!havePostgresBinaries())('faults: PostgreSQL restart during a 10k-job run', () => {
  let server: PrivatePostgres;
  let scope: BrokerScope;
  let producer: App;
  let workers: App[];
  const log = new HandledLog();

  beforeAll(async () => {
    server = await PrivatePostgres.create();
    scope = brokerScope('postgres', REDIS_URL, server.url);
    // Messages active at the crash come back when their 2 s lease lapses, looked for every second.
    const tuning = { lockDurationMs: 2_000, stalledIntervalMs: 1_000 };
    producer = scope.app({}, tuning);
    workers = [scope.app({}, tuning), scope.app({}, tuning)];
    await recordOn(workers, CHANNEL, log);
    await Promise.all([producer, ...workers].map((app) => app.start()));
  }, 120_000);

  afterAll(async () => {
    await scope?.dispose([CHANNEL]).catch(() => {});
    server?.destroy();
  }, 60_000);

  it('loses nothing acknowledged, fails producers with a code while down, and resumes consumers within 5 s', async () => {
    const started = Date.now();
    let stoppedAt = 0;
    const { stats, backAt } = await publishThrough(producer, CHANNEL, {
      total: TOTAL,
      inFlight: 32,
      outageAt: 3_000,
      outage: async (s) => {
        server.stopImmediately();
        stoppedAt = Date.now();
        const before = [...s.failures.values()].reduce((a, b) => a + b, 0);
        // Down until producers have visibly been refused a few times.
        await waitUntil(
          () => [...s.failures.values()].reduce((a, b) => a + b, 0) >= before + 20,
          30_000,
          'publishes refused',
        );
        server.start();
        return Date.now();
      },
    });
    await allHandled(log, TOTAL, 120_000).catch(async (error: unknown) => {
      const missing = [...stats.acked].filter((n) => !log.counts.has(n));
      figure('outage/postgres', 'NOT HANDLED', {
        missing: missing.length,
        counts: await producer.eventQueue.counts(CHANNEL).catch(() => 'unavailable'),
        sample: missing.slice(0, 20),
      });
      throw error;
    });
    const resumeMs = log.resumedAfter(backAt, stats.ackedAt);

    figure('outage/postgres', 'acknowledged', stats.acked.size);
    figure('outage/postgres', 'down ms', backAt - stoppedAt);
    figure('outage/postgres', 'publish rejections', failureText(stats.failures));
    figure('outage/postgres', 'slowest rejection ms', stats.slowestFailureMs);
    figure('outage/postgres', 'consumers resumed ms after PostgreSQL answered', resumeMs);
    figure('outage/postgres', 'duplicates', log.duplicates);
    figure('outage/postgres', 'wall ms', Date.now() - started);

    expect(stats.acked.size).toBe(TOTAL);
    const missing = [...stats.acked].filter((n) => !log.counts.has(n));
    expect(missing).toEqual([]);
    expect([...stats.failures.keys()]).toEqual([ErrorCodes.BACKEND_UNAVAILABLE]);
    expect(resumeMs).toBeLessThanOrEqual(5_000);
  }, 300_000);
});
