/**
 * One clusterkit side of the Redis event-queue cost tools: a tsup bundle's app publishes `count`
 * messages `{ i }` on channel `bench` (at most `window` in flight) and consumes them at
 * `concurrency`, inside `measure`; the app is stopped and its keys removed afterwards.
 */
import { deleteRedisPrefix, randomName } from '../lib/services.js';
import { countdown, pool } from '../lib/waiting.js';

/** A tsup bundle exporting `{ core, redis }` (see the bench's clusterkit loader). */
export type Bundle = { core: typeof import('clusterkit'); redis: typeof import('clusterkit/redis') };

/** How the side runs: Redis URL, messages, consumer concurrency, publishes in flight, prefix tag. */
export interface BundleRun {
  readonly url: string;
  readonly count: number;
  readonly concurrency: number;
  readonly window: number;
  readonly tag: string;
}

/** Runs the side; `measure` wraps the publish-and-consume work and returns what it measured. */
export async function runBundleEventQueue<T>(
  bundle: Bundle,
  run: BundleRun,
  measure: (work: () => Promise<void>) => Promise<T>,
): Promise<T> {
  const done = countdown(run.count);
  const prefix = randomName(run.tag);
  const app = bundle.core.createApp({
    name: prefix,
    logger: bundle.core.silentLogger,
    adapters: bundle.redis.createRedisAdapters({ url: run.url, prefix }),
    stopGracePeriodMs: 2_000,
  });
  await app.eventQueue.subscribe('bench', { concurrency: run.concurrency, process: async () => done.hit() });
  await app.start();
  try {
    return await measure(async () => {
      await pool(run.count, run.window, new AbortController().signal, (i) => app.eventQueue.publish('bench', { i }));
      await done.done;
    });
  } finally {
    await app.stop().catch(() => undefined);
    await deleteRedisPrefix(prefix).catch(() => undefined);
  }
}
