/**
 * The memory soak, in its own process so `--expose-gc` gives exact heap figures: pushes `CK_JOBS`
 * jobs through one app's event queue (memory or Redis) in batches, and reports heap, RSS and
 * active handles after a warm-up and at the end (both after full GCs).
 *
 * Environment: CK_BACKEND (`memory` | `redis`), CK_JOBS, CK_WARMUP, CK_BATCH, REDIS_URL, CK_PREFIX.
 * IPC out: `result {...figures}`.
 */
import { createApp, silentLogger } from 'clusterkit';
import { createRedisAdapters } from 'clusterkit/redis';

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('soak.ts needs --expose-gc');

const backend = process.env.CK_BACKEND ?? 'memory';
const total = Number(process.env.CK_JOBS ?? 200_000);
const warmup = Number(process.env.CK_WARMUP ?? 5_000);
const batch = Number(process.env.CK_BATCH ?? 1_000);
const app = createApp({
  name: 'soak',
  logger: silentLogger,
  ...(backend === 'redis'
    ? {
        adapters: createRedisAdapters({ url: process.env.REDIS_URL, prefix: process.env.CK_PREFIX, onError: () => {} }),
      }
    : {}),
});

let handled = 0;
let waiter: { target: number; resolve: () => void } | undefined;
await app.eventQueue.subscribe('soak', {
  concurrency: 64,
  process(message: { n: number; pad: string }) {
    handled += 1;
    if (waiter && handled >= waiter.target) waiter.resolve();
    return message.n;
  },
});
await app.start();

const reached = (target: number) =>
  handled >= target ? Promise.resolve() : new Promise<void>((resolve) => (waiter = { target, resolve }));

let published = 0;
async function run(count: number): Promise<void> {
  const end = published + count;
  while (published < end) {
    const size = Math.min(batch, end - published);
    const from = published;
    await Promise.all(
      Array.from({ length: size }, (_, i) => app.eventQueue.publish('soak', { n: from + i, pad: 'x'.repeat(100) })),
    );
    published += size;
    // One batch may still be in the queue while the next is published: the queue never runs dry.
    await reached(published - Math.min(batch, published - (end - count)));
  }
  await reached(end);
}

async function snapshot() {
  for (let i = 0; i < 3; i += 1) {
    gc!();
    await new Promise((r) => setImmediate(r));
  }
  const m = process.memoryUsage();
  const resources: Record<string, number> = {};
  for (const kind of process.getActiveResourcesInfo()) resources[kind] = (resources[kind] ?? 0) + 1;
  return { heapUsedMB: +(m.heapUsed / 2 ** 20).toFixed(2), rssMB: +(m.rss / 2 ** 20).toFixed(1), resources };
}

await run(warmup);
const start = await snapshot();
const t0 = Date.now();
await run(total - warmup);
const ms = Date.now() - t0;
const end = await snapshot();
await app.stop();
const stopped = await snapshot();
process.send?.({ type: 'result', backend, total, handled, ms, start, end, stopped }, () => process.exit(0));
