/**
 * Memory soak: 200,000 jobs through the memory event queue and through the Redis (BullMQ) one,
 * each in a child process with `--expose-gc`. After full GCs the heap ends near where it stood
 * after the warm-up (no leaked listeners, timers or per-message map entries), and the process
 * holds no more timers or handles than it did.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { randomName } from '../helpers.js';
import { bookkeepingClient, deleteUnder, figure, REDIS_URL, WorkerProcess } from './fault-helpers.js';

const JOBS = Number(process.env.CK_SOAK_JOBS ?? 200_000);
/** Heap growth allowed between warm-up and end: far below what 200k retained entries of any kind would cost. */
const MAX_GROWTH_MB = 8;

interface Snapshot {
  heapUsedMB: number;
  rssMB: number;
  resources: Record<string, number>;
}

describe.each(['memory', 'redis'] as const)('faults: memory soak (%s)', (backend) => {
  const prefix = randomName('ckf-soak');

  afterAll(async () => {
    if (backend !== 'redis') return;
    const client = bookkeepingClient();
    await deleteUnder(client, prefix).finally(() => client.disconnect());
  }, 60_000);

  it(`pushes ${JOBS} jobs through and ends with the heap near its start`, async () => {
    const worker = new WorkerProcess(
      'soak.ts',
      { CK_BACKEND: backend, CK_JOBS: String(JOBS), REDIS_URL, CK_PREFIX: prefix },
      ['--expose-gc'],
    );
    try {
      const result = (await worker.next(
        (m) => m.type === 'result',
        `${JOBS} jobs through ${backend}`,
        540_000,
      )) as unknown as {
        handled: number;
        ms: number;
        start: Snapshot;
        end: Snapshot;
        stopped: Snapshot;
      };
      const growth = +(result.end.heapUsedMB - result.start.heapUsedMB).toFixed(2);
      figure(`memory-soak/${backend}`, 'jobs handled', result.handled);
      figure(`memory-soak/${backend}`, 'jobs/s', Math.round(((JOBS - 5_000) / result.ms) * 1000));
      figure(
        `memory-soak/${backend}`,
        'heap MB after warm-up / at end / after stop',
        `${result.start.heapUsedMB} / ${result.end.heapUsedMB} / ${result.stopped.heapUsedMB}`,
      );
      figure(`memory-soak/${backend}`, 'heap growth MB', growth);
      figure(`memory-soak/${backend}`, 'rss MB after warm-up / at end', `${result.start.rssMB} / ${result.end.rssMB}`);
      figure(
        `memory-soak/${backend}`,
        'active resources after warm-up / at end',
        `${JSON.stringify(result.start.resources)} / ${JSON.stringify(result.end.resources)}`,
      );

      expect(result.handled).toBe(JOBS);
      expect(growth).toBeLessThanOrEqual(MAX_GROWTH_MB);
      // Timers and handles do not pile up with the number of jobs.
      for (const [kind, count] of Object.entries(result.end.resources)) {
        expect(count, kind).toBeLessThanOrEqual((result.start.resources[kind] ?? 0) + 2);
      }
    } finally {
      await worker.kill();
    }
  }, 600_000);
});
