/**
 * Broker outage on RabbitMQ: the broker force-closes every connection of this case
 * (`rabbitmqctl close_connection` for each connection named after the case's prefix — what
 * `close_all_connections` does, scoped so the other test files sharing the broker keep theirs)
 * while 10,000 messages are published and consumed. Publishes in flight are either buffered until
 * the connection recovers and confirmed, or rejected with a code; every confirmed message is
 * handled; consumers resume within 5 s of the close.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCodes, type App } from 'clusterkit';
import { brokerScope, type BrokerScope } from './backends.js';
import { figure } from './fault-helpers.js';
import { allHandled, failureText, HandledLog, publishThrough, recordOn } from './outage-load.js';

const TOTAL = 10_000;
const CHANNEL = 'outage-work';
const run = promisify(execFile);

async function rabbitmqctl(...args: string[]): Promise<string> {
  return (await run('rabbitmqctl', args, { timeout: 60_000 })).stdout;
}

/** Force-closes, from the broker, every connection whose client-provided name is `name`; returns how many. */
async function closeConnectionsNamed(name: string): Promise<number> {
  const out = await rabbitmqctl('list_connections', 'pid', 'client_properties', '--quiet');
  const pids = out
    .split('\n')
    .filter((line) => line.includes(`{"connection_name","${name}"}`))
    .map((line) => line.split('\t')[0]!)
    .filter((pid) => pid.startsWith('<'));
  await Promise.all(pids.map((pid) => rabbitmqctl('close_connection', pid, 'faults suite: broker outage')));
  return pids.length;
}

describe('faults: RabbitMQ connections closed during a 10k-message run', () => {
  let scope: BrokerScope;
  let producer: App;
  let workers: App[];
  const log = new HandledLog();

  beforeAll(async () => {
    scope = brokerScope('rabbitmq');
    producer = scope.app();
    workers = [scope.app(), scope.app()];
    await recordOn(workers, CHANNEL, log);
    await Promise.all([producer, ...workers].map((app) => app.start()));
  }, 60_000);

  afterAll(async () => {
    await scope?.dispose([CHANNEL]);
  }, 60_000);

  it('loses nothing confirmed, buffers or refuses publishes with a code, and resumes consumers within 5 s', async () => {
    const started = Date.now();
    let closed = 0;
    const { stats, backAt } = await publishThrough(producer, CHANNEL, {
      total: TOTAL,
      inFlight: 32,
      outageAt: 3_000,
      outage: async () => {
        closed = await closeConnectionsNamed(scope.prefix);
        return Date.now();
      },
    });
    await allHandled(log, TOTAL, 120_000);
    const resumeMs = log.resumedAfter(backAt, stats.ackedAt);

    figure('outage/rabbitmq', 'connections closed', closed);
    figure('outage/rabbitmq', 'confirmed', stats.acked.size);
    figure('outage/rabbitmq', 'publish rejections', failureText(stats.failures));
    figure('outage/rabbitmq', 'slowest confirmed publish ms (buffered)', stats.slowestAckMs);
    figure('outage/rabbitmq', 'consumers resumed ms after the close', resumeMs);
    figure('outage/rabbitmq', 'duplicates', log.duplicates);
    figure('outage/rabbitmq', 'wall ms', Date.now() - started);

    expect(closed).toBe(3);
    expect(stats.acked.size).toBe(TOTAL);
    expect([...stats.acked].filter((n) => !log.counts.has(n))).toEqual([]);
    for (const code of stats.failures.keys()) expect(code).toBe(ErrorCodes.BACKEND_UNAVAILABLE);
    expect(resumeMs).toBeLessThanOrEqual(5_000);
  }, 300_000);
});
