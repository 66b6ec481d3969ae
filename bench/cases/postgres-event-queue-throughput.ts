/**
 * PostgreSQL event queue throughput: publish N small messages while a subscriber processes them, at
 * concurrency 1, 10 and 50; clusterkit's `eventQueue` on its PostgreSQL adapter against raw pg-boss
 * and raw graphile-worker with the same concurrency, alternating in one run. Elapsed time runs from
 * the first publish to the last handler call; every side publishes through the same bounded pool.
 */
import type { BenchCase } from '../lib/case.js';
import { benchCluster, startNode } from '../lib/clusterkit-app.js';
import type { RunInput } from '../lib/harness.js';
import { startRawGraphile, startRawPgBoss, type RawPgQueue } from '../lib/raw-pg.js';
import { countdown, pool, until } from '../lib/waiting.js';

const CONCURRENCIES = [1, 10, 50] as const;
/** Messages per run: full run, `--quick`. */
const COUNTS: Record<(typeof CONCURRENCIES)[number], [number, number]> = {
  1: [2_000, 300],
  10: [5_000, 500],
  50: [5_000, 500],
};
/** Publishes in flight at once, on every side. */
const PUBLISH_WINDOW = 100;

async function timed(
  input: RunInput,
  count: number,
  publish: (i: number) => Promise<unknown>,
  done: ReturnType<typeof countdown>,
) {
  const began = performance.now();
  await pool(count, PUBLISH_WINDOW, input.signal, publish);
  await until(done.done, input.signal, `${count} handler calls (got ${done.count})`);
  return { throughput: count / ((done.lastAt - began) / 1000) };
}

async function runClusterkit(input: RunInput, count: number, concurrency: number) {
  const done = countdown(count);
  const node = await startNode(benchCluster('postgres'), (app) =>
    app.eventQueue.subscribe('bench', { concurrency, process: async () => done.hit() }),
  );
  try {
    return await timed(input, count, (i) => node.app.eventQueue.publish('bench', { i }), done);
  } finally {
    await node.dispose(['bench']);
  }
}

async function runRaw(
  input: RunInput,
  count: number,
  start: (o: { concurrency: number; process: () => Promise<void> }) => Promise<RawPgQueue>,
  concurrency: number,
) {
  const done = countdown(count);
  const raw = await start({ concurrency, process: async () => done.hit() });
  try {
    return await timed(input, count, (i) => raw.add({ i }), done);
  } finally {
    await raw.close();
  }
}

/** The case. */
export const postgresEventQueueThroughput: BenchCase = {
  name: 'postgres-event-queue-throughput',
  title: 'PostgreSQL eventQueue throughput',
  compareWith: 'raw pg-boss and raw graphile-worker, same concurrency',
  targetText: '≥ 1.0× raw pg-boss throughput',
  budgetMs: 240_000,
  async run(ctx, report) {
    const counts = CONCURRENCIES.map((c) => ctx.size(...COUNTS[c]));
    report.note(
      `Messages \`{ i }\` per run: ${CONCURRENCIES.map((c, i) => `${counts[i]} at concurrency ${c}`).join(', ')}, ` +
        `published through a pool of ${PUBLISH_WINDOW} concurrent publish calls while the subscriber runs; time ` +
        'from the first publish to the last handler call; the handler does nothing. Each run on a fresh schema. ' +
        'pg-boss 10: concurrency N = N `work()` workers of batch size 1 (its way to scale), polling every 0.5 s ' +
        '(its minimum) and fetching again at once after each job (`notifyWorker`), default retention; graphile-worker: its `concurrency`, LISTEN/NOTIFY wake-ups. clusterkit: ' +
        'default options (acknowledged rows deleted, NOTIFY wake-ups, 2 s backstop poll).',
    );
    for (const [index, concurrency] of CONCURRENCIES.entries()) {
      const key = `concurrency ${concurrency}`;
      const count = counts[index]!;
      const weights = [1.4, 1, 1];
      const share =
        ((ctx.deadline - performance.now()) * weights[index]!) / weights.slice(index).reduce((a, b) => a + b, 0);
      const n = (input: RunInput) => (input.warmup ? Math.ceil(count / 5) : count);
      await report.compare(key, {
        budgetMs: share,
        runTimeoutMs: ctx.size(90_000, 30_000),
        sides: {
          clusterkit: (input) => runClusterkit(input, n(input), concurrency),
          'pg-boss': (input) => runRaw(input, n(input), startRawPgBoss, concurrency),
          'graphile-worker': (input) => runRaw(input, n(input), startRawGraphile, concurrency),
        },
      });
      const row = {
        label: `${key}, ${count} msgs`,
        metric: 'throughput',
        unit: 'msg/s',
        higherIsBetter: true,
      } as const;
      report.row(key, { ...row, ours: 'clusterkit', raw: 'pg-boss', target: { kind: 'min-ratio', value: 1 } });
      report.row(key, { ...row, ours: 'clusterkit', raw: 'graphile-worker', target: { kind: 'none' } });
    }
  },
};
