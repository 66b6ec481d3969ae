/**
 * Memory event queue throughput: 1M small messages published through a bounded pool while a
 * concurrency-10 subscriber processes them, in one process with no services; clusterkit's memory
 * adapter (through the manager: validation, envelope, JSON) against an array + promise worker loop.
 */
import type { BenchCase } from '../lib/case.js';
import { ArrayQueue } from '../lib/array-queue.js';
import { benchCluster, startNode } from '../lib/clusterkit-app.js';
import type { RunInput } from '../lib/harness.js';
import { countdown, pool, until } from '../lib/waiting.js';

const CONCURRENCY = 10;
const PUBLISH_WINDOW = 100;

async function runClusterkit(input: RunInput, count: number) {
  const done = countdown(count);
  const node = await startNode(benchCluster('memory'), (app) =>
    app.eventQueue.subscribe('bench', { concurrency: CONCURRENCY, process: async () => done.hit() }),
  );
  try {
    const start = performance.now();
    await pool(count, PUBLISH_WINDOW, input.signal, (i) => node.app.eventQueue.publish('bench', { i }));
    await until(done.done, input.signal, `${count} handler calls (got ${done.count})`);
    return { throughput: count / ((done.lastAt - start) / 1000) };
  } finally {
    await node.dispose(['bench']);
  }
}

async function runArray(input: RunInput, count: number) {
  const done = countdown(count);
  const queue = new ArrayQueue<{ i: number }>(CONCURRENCY, async () => done.hit());
  try {
    const start = performance.now();
    await pool(count, PUBLISH_WINDOW, input.signal, (i) => queue.push({ i }));
    await until(done.done, input.signal, `${count} handler calls (got ${done.count})`);
    return { throughput: count / ((done.lastAt - start) / 1000) };
  } finally {
    await queue.stop();
  }
}

/** The case. */
export const memoryEventQueueThroughput: BenchCase = {
  name: 'memory-event-queue-throughput',
  title: 'Memory eventQueue throughput',
  compareWith: 'an in-process array + promise worker loop',
  targetText: '≥ 1,000,000 msg/s',
  budgetMs: 75_000,
  async run(ctx, report) {
    const count = ctx.size(1_000_000, 20_000);
    report.note(
      `${count} messages \`{ i }\` per run, published through a pool of ${PUBLISH_WINDOW} concurrent publish calls ` +
        `while the subscriber (concurrency ${CONCURRENCY}, handler does nothing) runs; time from the first publish to ` +
        'the last handler call. The baseline is `bench/lib/array-queue.ts`.',
    );
    await report.compare('concurrency 10', {
      budgetMs: ctx.deadline - performance.now(),
      runTimeoutMs: 60_000,
      sides: {
        clusterkit: (input) => runClusterkit(input, input.warmup ? Math.ceil(count / 10) : count),
        'array + promise loop': (input) => runArray(input, input.warmup ? Math.ceil(count / 10) : count),
      },
    });
    report.row('concurrency 10', {
      label: `concurrency ${CONCURRENCY}`,
      metric: 'throughput',
      unit: 'msg/s',
      higherIsBetter: true,
      ours: 'clusterkit',
      raw: 'array + promise loop',
      target: { kind: 'min', value: 1_000_000 },
    });
  },
};
