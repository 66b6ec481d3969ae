/**
 * Delayed-message lateness on Redis: 1,000 messages with a 100 ms delay published in one burst; each
 * message's lateness is its handler start minus its due time (publish call + delay). BullMQ alone
 * starts delayed jobs on the Redis server's timer tick (1000/hz ms, ~100 ms at the default hz 10);
 * clusterkit wakes its workers with a client-side timer for the next due job.
 */
import type { BenchCase } from '../lib/case.js';
import { benchCluster, startNode } from '../lib/clusterkit-app.js';
import type { RunInput } from '../lib/harness.js';
import { startRawBullmq } from '../lib/raw-bullmq.js';
import { latencyPercentiles } from '../lib/stats.js';
import { countdown, pool, until } from '../lib/waiting.js';

const DELAY_MS = 100;
const CONCURRENCY = 50;

/** Records due times at publish and start times in the handler; returns lateness percentiles. */
function tracker(count: number) {
  const due = new Float64Array(count);
  const lateness = new Float64Array(count);
  const done = countdown(count);
  return {
    done,
    sent(i: number) {
      due[i] = performance.now() + DELAY_MS;
    },
    started(message: unknown) {
      const i = (message as { i: number }).i;
      lateness[i] = performance.now() - (due[i] as number);
      done.hit();
    },
    figures() {
      const p = latencyPercentiles(Array.from(lateness));
      return { p50: p.p50, p99: p.p99, max: p.max };
    },
  };
}

async function runClusterkit(input: RunInput, count: number) {
  const t = tracker(count);
  const node = await startNode(benchCluster('redis'), (app) =>
    app.eventQueue.subscribe('bench', { concurrency: CONCURRENCY, process: async (message) => t.started(message) }),
  );
  try {
    await pool(count, count, input.signal, (i) => {
      t.sent(i);
      return node.app.eventQueue.publish('bench', { i }, { delay: DELAY_MS });
    });
    await until(t.done.done, input.signal, `${count} delayed messages (got ${t.done.count})`);
    return t.figures();
  } finally {
    await node.dispose(['bench']);
  }
}

async function runBullmq(input: RunInput, count: number) {
  const t = tracker(count);
  const raw = await startRawBullmq({ concurrency: CONCURRENCY, process: async (job) => t.started(job.data) });
  try {
    await pool(count, count, input.signal, (i) => {
      t.sent(i);
      return raw.add({ i }, { delay: DELAY_MS });
    });
    await until(t.done.done, input.signal, `${count} delayed messages (got ${t.done.count})`);
    return t.figures();
  } finally {
    await raw.close();
  }
}

/** The case. */
export const redisDelayedLateness: BenchCase = {
  name: 'redis-delayed-lateness',
  title: 'Redis delayed-start lateness',
  compareWith: 'raw BullMQ (delayed jobs)',
  targetText: 'p99 of (start − due) ≤ 20 ms',
  budgetMs: 35_000,
  async run(ctx, report) {
    const count = ctx.size(1_000, 100);
    report.note(
      `${count} messages with \`delay: ${DELAY_MS}\` published at once (all calls in flight), concurrency ${CONCURRENCY}; ` +
        'lateness = handler start − (publish call + delay). Per-run p50/p99, median over runs.',
    );
    await report.compare('burst', {
      budgetMs: ctx.deadline - performance.now(),
      runTimeoutMs: 30_000,
      sides: {
        clusterkit: (input) => runClusterkit(input, count),
        bullmq: (input) => runBullmq(input, count),
      },
    });
    const common = {
      label: `${count} × delay ${DELAY_MS} ms`,
      unit: 'ms',
      higherIsBetter: false,
      ours: 'clusterkit',
      raw: 'bullmq',
    } as const;
    report.row('burst', { ...common, metric: 'p50', target: { kind: 'none' } });
    report.row('burst', { ...common, metric: 'p99', target: { kind: 'max', value: 20 } });
  },
};
