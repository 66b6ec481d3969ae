/**
 * Redis event queue throughput: publish N small messages while a subscriber processes them, at
 * concurrency 1, 10 and 50; clusterkit's `eventQueue` on its Redis (BullMQ) adapter against a raw
 * BullMQ Queue + Worker with the same concurrency. Elapsed time runs from the first publish to the
 * last handler call; both sides publish through the same bounded pool.
 */
import type { BenchCase } from '../lib/case.js';
import { benchCluster, startNode } from '../lib/clusterkit-app.js';
import type { RunInput } from '../lib/harness.js';
import { startRawBullmq } from '../lib/raw-bullmq.js';
import { withRedisCpu } from '../lib/services.js';
import { countdown, pool, until } from '../lib/waiting.js';

const CONCURRENCIES = [1, 10, 50] as const;
/** Messages per run, by concurrency: full run, `--quick`, `--issue-sizes`. Concurrency 1 is bound by one round trip per message. */
const COUNTS: Record<(typeof CONCURRENCIES)[number], [number, number, number]> = {
  1: [20_000, 500, 20_000],
  10: [20_000, 1_000, 20_000],
  50: [20_000, 1_000, 20_000],
};
/** Publishes in flight at once, on both sides. */
const PUBLISH_WINDOW = 200;

async function runClusterkit(input: RunInput, count: number, concurrency: number) {
  const done = countdown(count);
  const node = await startNode(benchCluster('redis'), (app) =>
    app.eventQueue.subscribe('bench', { concurrency, process: async () => done.hit() }),
  );
  try {
    const { result: start, serverUsPerUnit } = await withRedisCpu(count, async () => {
      const began = performance.now();
      await pool(count, PUBLISH_WINDOW, input.signal, (i) => node.app.eventQueue.publish('bench', { i }));
      await until(done.done, input.signal, `${count} handler calls (got ${done.count})`);
      return began;
    });
    return { throughput: count / ((done.lastAt - start) / 1000), serverUsPerMsg: serverUsPerUnit };
  } finally {
    await node.dispose(['bench']);
  }
}

async function runBullmq(input: RunInput, count: number, concurrency: number) {
  const done = countdown(count);
  const raw = await startRawBullmq({ concurrency, process: async () => done.hit() });
  try {
    const { result: start, serverUsPerUnit } = await withRedisCpu(count, async () => {
      const began = performance.now();
      await pool(count, PUBLISH_WINDOW, input.signal, (i) => raw.add({ i }));
      await until(done.done, input.signal, `${count} handler calls (got ${done.count})`);
      return began;
    });
    return { throughput: count / ((done.lastAt - start) / 1000), serverUsPerMsg: serverUsPerUnit };
  } finally {
    await raw.close();
  }
}

/** The case. */
export const redisEventQueueThroughput: BenchCase = {
  name: 'redis-event-queue-throughput',
  title: 'Redis eventQueue throughput',
  compareWith: 'raw BullMQ Queue + Worker, same concurrency',
  targetText: '≥ 0.95× raw BullMQ throughput',
  budgetMs: 150_000,
  async run(ctx, report) {
    const counts = CONCURRENCIES.map((c) => ctx.size(...COUNTS[c]));
    report.note(
      `Messages \`{ i }\` per run: ${CONCURRENCIES.map((c, i) => `${counts[i]} at concurrency ${c}`).join(', ')} ` +
        "(the issue's 20,000), " +
        `published through a pool of ${PUBLISH_WINDOW} concurrent publish calls ` +
        'while the subscriber runs; time from the first publish to the last handler call. Raw BullMQ uses ' +
        'the retention clusterkit keeps by default (`removeOnComplete: { count: 1000 }`); the handler does nothing. ' +
        '"Redis server CPU per message" is the server\'s user+system CPU (`INFO cpu`) over the run divided by the ' +
        'messages: meaningful only while nothing else uses the server.',
    );
    for (const [index, concurrency] of CONCURRENCIES.entries()) {
      const key = `concurrency ${concurrency}`;
      const count = counts[index]!;
      // Concurrency 1 takes longest (one round trip per message): it gets a larger share of the budget.
      const weights = [1.6, 1, 0.8];
      const share =
        ((ctx.deadline - performance.now()) * weights[index]!) / weights.slice(index).reduce((a, b) => a + b, 0);
      await report.compare(key, {
        budgetMs: share,
        runTimeoutMs: ctx.size(60_000, 20_000),
        sides: {
          clusterkit: (input) => runClusterkit(input, input.warmup ? Math.ceil(count / 4) : count, concurrency),
          bullmq: (input) => runBullmq(input, input.warmup ? Math.ceil(count / 4) : count, concurrency),
        },
      });
      report.row(key, {
        label: `${key}, ${count} msgs`,
        metric: 'throughput',
        unit: 'msg/s',
        higherIsBetter: true,
        ours: 'clusterkit',
        raw: 'bullmq',
        target: { kind: 'min-ratio', value: 0.95 },
      });
      report.row(key, {
        label: key,
        metric: 'Redis server CPU per message',
        figure: 'serverUsPerMsg',
        unit: 'µs',
        higherIsBetter: false,
        ours: 'clusterkit',
        raw: 'bullmq',
        target: { kind: 'none' },
      });
    }
  },
};
