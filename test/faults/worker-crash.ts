/**
 * The worker-crash case, run once per broker: 3 worker processes consume 2,000 jobs while one of
 * them is SIGKILLed mid-job 20 times (and restarted each time). Every job must complete; jobs run
 * more than once are counted and reported (at-least-once), none may be missing or dead-lettered.
 *
 * Pacing: the jobs are published in 20 batches of 100, one batch before each kill, so there is
 * always work in flight when the kill lands. The victim is armed first: the next job it starts
 * hangs, and it is killed once it reports that job held, so every kill is mid-job (its other
 * in-flight job, if any, dies with it too).
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { App } from 'clusterkit';
import { randomName } from '../helpers.js';
import { brokerScope, type Backend, type BrokerScope } from './backends.js';
import {
  AMQP_URL,
  bookkeepingClient,
  figure,
  ledgerSummary,
  readLedger,
  waitUntil,
  WorkerProcess,
} from './fault-helpers.js';

const JOBS = 2_000;
const KILLS = 20;
const WORKERS = 3;
const WORK_MS = 40;
const CHANNEL = 'crash-work';

/** Registers the case for `backend` in the calling describe block. */
export function workerCrashCase(backend: Backend): void {
  let scope: BrokerScope;
  let producer: App;
  const workers: WorkerProcess[] = [];
  const ledger = bookkeepingClient();
  const ledgerKey = randomName('ckf-ledger');

  const spawnWorker = async (): Promise<WorkerProcess> => {
    const worker = new WorkerProcess('queue-worker.ts', {
      CK_BACKEND: backend,
      REDIS_URL: scope.redisUrl,
      AMQP_URL,
      DATABASE_URL: scope.databaseUrl,
      CK_PREFIX: scope.prefix,
      CK_APP: scope.appName,
      CK_CHANNEL: CHANNEL,
      CK_LEDGER: ledgerKey,
      CK_CONCURRENCY: '2',
      CK_WORK_MS: String(WORK_MS),
      // A dead worker's BullMQ claim lapses after 2 s and is noticed within 1 s (defaults: 30 s each).
      CK_LOCK_DURATION_MS: '2000',
      CK_STALLED_INTERVAL_MS: '1000',
    });
    await worker.next((m) => m.type === 'ready', 'worker ready');
    return worker;
  };

  beforeAll(async () => {
    scope = brokerScope(backend);
    producer = scope.app();
    await producer.start();
    for (let i = 0; i < WORKERS; i += 1) workers.push(await spawnWorker());
  }, 120_000);

  afterAll(async () => {
    await Promise.allSettled(workers.map((w) => w.kill()));
    await ledger.unlink(ledgerKey).catch(() => {});
    ledger.disconnect();
    await scope?.dispose([CHANNEL]);
  }, 60_000);

  it(`completes all ${JOBS} jobs while a worker is SIGKILLed mid-job ${KILLS} times`, async () => {
    const started = Date.now();
    const batch = JOBS / KILLS;
    let midJob = 0;
    const restartMs: number[] = [];
    for (let kill = 0; kill < KILLS; kill += 1) {
      const index = kill % WORKERS;
      const victim = workers[index]!;
      victim.send({ type: 'arm' });
      await Promise.all(
        Array.from({ length: batch }, (_, i) => producer.eventQueue.publish(CHANNEL, { n: kill * batch + i })),
      );
      const held = await victim.next((m) => m.type === 'held', `worker ${index} holding a job of batch ${kill}`);
      await victim.kill();
      if (!victim.messages.some((m) => m.type === 'done' && m.n === held.n)) midJob += 1;
      const t0 = Date.now();
      workers[index] = await spawnWorker();
      restartMs.push(Date.now() - t0);
    }

    await waitUntil(async () => (await ledger.hlen(ledgerKey)) >= JOBS, 180_000, `all ${JOBS} jobs handled`, 200);
    const summary = ledgerSummary(await readLedger(ledger, ledgerKey), JOBS);
    const dead = await producer.eventQueue.listDeadLetters(CHANNEL);
    figure(`worker-crash/${backend}`, 'jobs', JOBS);
    figure(`worker-crash/${backend}`, 'kills (mid-job)', `${KILLS} (${midJob})`);
    figure(`worker-crash/${backend}`, 'missing', summary.missing.length);
    figure(`worker-crash/${backend}`, 'duplicates', summary.duplicates);
    figure(`worker-crash/${backend}`, 'dead letters', dead.length);
    figure(
      `worker-crash/${backend}`,
      'worker restart ms (median)',
      restartMs.sort((a, b) => a - b)[restartMs.length >> 1],
    );
    figure(`worker-crash/${backend}`, 'wall ms', Date.now() - started);

    expect(summary.missing).toEqual([]);
    expect(dead).toEqual([]);
    // Every kill landed while the victim had a job running, so redelivery was really exercised.
    expect(midJob).toBe(KILLS);
  }, 420_000);
}
