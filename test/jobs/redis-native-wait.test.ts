/**
 * The native managed-job engine (Redis's default): `waitForJob` on a job removed
 * at its end (`removeOnComplete` / `removeOnFail: true`) answers as the record engine does, from
 * the end's announcement — return value, failure (with its code) or cancellation — on another node
 * than the one that ran it, and from the watch mark when the announcement's outcome is missed.
 */
import { JobCancelledError, type App } from 'clusterkit';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { TestCluster } from '../conformance/cluster.js';
import { deferred, within } from '../helpers.js';
import { startNode } from './jobs-helpers.js';
import { onNativeRedis } from './native-redis.js';

/** The native engine behind `app.managedQueue` (private): its connection, job locator and waiters. */
interface EngineInternals {
  redis: { exists(key: string): Promise<number> };
  locate(jobId: string): Promise<{ keyPrefix: string; bullId: string } | null>;
  finishWaiters: { finished(message: string): void };
}
function engineOf(app: App): EngineInternals {
  return (app.managedQueue as unknown as { jobs: { engine: EngineInternals } }).jobs.engine;
}

/** Resolves once `app`'s wait on `jobId` has set its watch mark (so the end is announced to it). */
async function watched(app: App, jobId: string): Promise<void> {
  const engine = engineOf(app);
  await vi.waitFor(
    async () => {
      const at = await engine.locate(jobId);
      expect(at && (await engine.redis.exists(`${at.keyPrefix}${at.bullId}:w`))).toBe(1);
    },
    { timeout: 10_000 },
  );
}

await onNativeRedis(
  'native waitForJob on removed jobs',
  (factory) => {
    describe('native engine: waitForJob on a job removed at its end (redis-native)', () => {
      let cluster: TestCluster;
      let worker: App;
      let waiter: App;
      const h = { pluginName: 'p', queueName: 'q', jobName: 'j' };
      const release = new Map<string, { resolve(): void }>();
      beforeEach(async () => {
        cluster = factory.create();
        worker = await startNode(cluster);
        waiter = await startNode(cluster, { worker: false });
        release.clear();
        await worker.managedQueue.process(h, async (job) => {
          const data = job.data as { gate: string; fail?: string; code?: string; value?: unknown };
          const gate = deferred();
          release.set(data.gate, gate);
          await Promise.race([
            gate.promise,
            new Promise<void>((resolve) => job.signal.addEventListener('abort', () => resolve(), { once: true })),
          ]);
          if (job.signal.aborted) throw job.signal.reason;
          if (data.fail) throw Object.assign(new Error(data.fail), data.code ? { code: data.code } : {});
          return data.value;
        });
      });
      afterEach(async () => {
        await cluster.dispose();
      });

      /** Enqueues a gated job, waits on it from the other node, and lets it end once watched. */
      async function endWatched(
        payload: Record<string, unknown>,
        options: object,
        end?: (jobId: string) => Promise<void>,
      ) {
        const gate = `g${Math.random().toString(36).slice(2)}`;
        const { jobId } = await worker.managedQueue.enqueue({ ...h, ...options, payload: { ...payload, gate } });
        await vi.waitFor(() => expect(release.has(gate)).toBe(true), { timeout: 10_000 });
        const result = waiter.managedQueue.waitForJob(jobId, { timeoutMs: 10_000 }).then(
          (value) => ({ value }),
          (error: unknown) => ({ error }),
        );
        await watched(waiter, jobId);
        if (end) await end(jobId);
        else release.get(gate)!.resolve();
        const outcome = await within(result, 12_000, 'waitForJob');
        expect(await waiter.managedQueue.getJob(jobId)).toBeNull();
        return outcome;
      }

      it('resolves with the return value of a completed job removed by removeOnComplete, on another node', async () => {
        expect(await endWatched({ value: { ok: [1, 'two'] } }, { removeOnComplete: true })).toEqual({
          value: { ok: [1, 'two'] },
        });
        expect(await endWatched({}, { removeOnComplete: true })).toEqual({ value: undefined });
      });

      it('a caller id enqueued again after its job was removed at its end does not answer with the old outcome', async () => {
        expect(await endWatched({ value: 'old' }, { removeOnComplete: true, jobId: 'again' })).toEqual({
          value: 'old',
        });
        // The same id again, delayed (so it does not run), waited on, then removed: it no longer exists.
        const { jobId } = await worker.managedQueue.enqueue({ ...h, jobId: 'again', delay: 60_000, payload: {} });
        const result = waiter.managedQueue.waitForJob(jobId, { timeoutMs: 10_000 }).then(
          (value) => ({ value }),
          (error: unknown) => ({ error }),
        );
        await watched(waiter, jobId);
        expect(await worker.managedQueue.remove(jobId)).toEqual({ success: true });
        const outcome = (await within(result, 12_000, 'waitForJob')) as { error?: { code?: string } };
        expect(outcome.error?.code).toBe('NOT_FOUND');
      });

      it('rejects with the failure (message and code) of a failed job removed by removeOnFail, on another node', async () => {
        const { error } = (await endWatched(
          { fail: 'card declined', code: 'PAYMENT_DECLINED' },
          { removeOnFail: true },
        )) as {
          error: Error & { code?: string };
        };
        expect(error).toMatchObject({ name: 'JobFailedError', message: 'card declined', code: 'PAYMENT_DECLINED' });
        const plain = (await endWatched({ fail: 'plain' }, { removeOnFail: true })) as {
          error: Error & { code?: string };
        };
        expect(plain.error).toMatchObject({ name: 'JobFailedError', message: 'plain' });
        expect(plain.error.code).toBeUndefined();
      });

      it('rejects with JobCancelledError for an active job cancelled with abortActive and removed by removeOnFail', async () => {
        const { error } = (await endWatched({}, { removeOnFail: true, attempts: 3 }, async (jobId) => {
          expect(await waiter.managedQueue.cancel({ jobId, abortActive: true })).toEqual({ success: true });
        })) as { error: unknown };
        expect(error).toBeInstanceOf(JobCancelledError);
      });

      it('answers from the watch mark when the announcement reaches the waiter without its outcome', async () => {
        const waiters = engineOf(waiter).finishWaiters;
        const finished = waiters.finished.bind(waiters);
        waiters.finished = (message) => finished(message.split('\n')[0]!);
        expect(await endWatched({ value: 7 }, { removeOnComplete: true })).toEqual({ value: 7 });
        const { error } = (await endWatched({ fail: 'lost', code: 'C' }, { removeOnFail: true })) as { error: Error };
        expect(error).toMatchObject({ message: 'lost', code: 'C' });
      });
    });
  },
  { managedJobs: {}, label: 'redis-native-wait' },
);
