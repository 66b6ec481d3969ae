/**
 * Redis event queue latency with an idle worker: the time from the publish call to the start of the
 * handler, one message at a time with a short idle gap between messages (so the worker is back to
 * waiting for work each time); clusterkit's `eventQueue` on Redis against a raw BullMQ Queue + Worker.
 */
import type { BenchCase } from '../lib/case.js';
import { benchCluster, startNode } from '../lib/clusterkit-app.js';
import type { RunInput } from '../lib/harness.js';
import { startRawBullmq } from '../lib/raw-bullmq.js';
import { latencyPercentiles } from '../lib/stats.js';
import { deferred, sleep, until, type Deferred } from '../lib/waiting.js';

/** Idle gap between two messages, in ms: long enough for the worker to go back to its blocking wait. */
export const IDLE_GAP_MS = 5;

/** Publishes `samples` messages one by one and measures publish-call → handler-start for each. */
export async function measure(
  input: RunInput,
  samples: number,
  publish: (i: number) => Promise<unknown>,
  started: { current?: Deferred<number> },
) {
  const latencies: number[] = [];
  for (let i = 0; i < samples; i += 1) {
    const arrival = deferred<number>();
    started.current = arrival;
    const sent = performance.now();
    await publish(i);
    latencies.push((await until(arrival.promise, input.signal, `message ${i}`)) - sent);
    await sleep(IDLE_GAP_MS);
  }
  const p = latencyPercentiles(latencies);
  return { p50: p.p50, p99: p.p99, max: p.max };
}

async function runClusterkit(input: RunInput, samples: number) {
  const started: { current?: Deferred<number> } = {};
  const node = await startNode(benchCluster('redis'), (app) =>
    app.eventQueue.subscribe('bench', {
      concurrency: 1,
      process: async () => started.current?.resolve(performance.now()),
    }),
  );
  try {
    return await measure(input, samples, (i) => node.app.eventQueue.publish('bench', { i }), started);
  } finally {
    await node.dispose(['bench']);
  }
}

async function runBullmq(input: RunInput, samples: number) {
  const started: { current?: Deferred<number> } = {};
  const raw = await startRawBullmq({
    concurrency: 1,
    process: async () => started.current?.resolve(performance.now()),
  });
  try {
    return await measure(input, samples, (i) => raw.add({ i }), started);
  } finally {
    await raw.close();
  }
}

/** The case. */
export const redisEventQueueLatency: BenchCase = {
  name: 'redis-event-queue-latency',
  title: 'Redis eventQueue publish→handler latency',
  compareWith: 'raw BullMQ Queue + Worker',
  targetText: 'p50 ≤ raw + 0.3 ms',
  budgetMs: 35_000,
  async run(ctx, report) {
    const samples = ctx.size(300, 30);
    report.note(
      `${samples} messages per run, one at a time, ${IDLE_GAP_MS} ms idle between them; latency = handler start − ` +
        'publish call (same process, `performance.now()`). Concurrency 1. Per-run p50/p99, median over runs.',
    );
    await report.compare('idle worker', {
      budgetMs: ctx.deadline - performance.now(),
      runTimeoutMs: 30_000,
      sides: {
        clusterkit: (input) => runClusterkit(input, input.warmup ? 50 : samples),
        bullmq: (input) => runBullmq(input, input.warmup ? 50 : samples),
      },
    });
    const common = { unit: 'ms', higherIsBetter: false, ours: 'clusterkit', raw: 'bullmq' } as const;
    report.row('idle worker', {
      ...common,
      label: 'idle worker',
      metric: 'p50',
      target: { kind: 'max-delta', value: 0.3 },
    });
    report.row('idle worker', { ...common, label: 'idle worker', metric: 'p99', target: { kind: 'none' } });
  },
};
