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
import { countdown, pool, sleep, until } from '../lib/waiting.js';

const DELAY_MS = 100;
const CONCURRENCY = 50;

/** Records due times at publish and start times in the handler; returns lateness percentiles. */
function tracker(count: number) {
  const due = new Float64Array(count);
  const lateness = new Float64Array(count);
  const done = countdown(count);
  let firstSent = Infinity;
  let lastSent = -Infinity;
  let firstStart = Infinity;
  return {
    done,
    sent(i: number) {
      const now = performance.now();
      firstSent = Math.min(firstSent, now);
      lastSent = Math.max(lastSent, now);
      due[i] = now + DELAY_MS;
    },
    started(message: unknown) {
      const i = (message as { i: number }).i;
      const now = performance.now();
      firstStart = Math.min(firstStart, now);
      lateness[i] = now - (due[i] as number);
      done.hit();
    },
    figures() {
      const p = latencyPercentiles(Array.from(lateness));
      // How long the burst took to publish, and to start once the first job started: when the second
      // is much longer than the first, lateness measures throughput, not the wake-up.
      return {
        p50: p.p50,
        p99: p.p99,
        max: p.max,
        firstLateness: lateness.reduce((a, b) => Math.min(a, b), Infinity),
        publishSpanMs: lastSent - firstSent,
        startSpanMs: done.lastAt - firstStart,
      };
    },
  };
}

/** `burst`: every publish call at once; `spaced`: one call every {@link SPACING_MS} ms (wake-up precision alone). */
type Mode = 'burst' | 'spaced';
const SPACING_MS = 5;

async function publishAll(
  input: RunInput,
  t: ReturnType<typeof tracker>,
  count: number,
  mode: Mode,
  publishOne: (i: number) => Promise<unknown>,
) {
  if (mode === 'burst') {
    await pool(count, count, input.signal, (i) => {
      t.sent(i);
      return publishOne(i);
    });
    return;
  }
  const pending: Promise<unknown>[] = [];
  for (let i = 0; i < count && !input.signal.aborted; i += 1) {
    t.sent(i);
    pending.push(publishOne(i));
    await sleep(SPACING_MS);
  }
  await Promise.all(pending);
}

async function runClusterkit(input: RunInput, count: number, mode: Mode) {
  const t = tracker(count);
  const node = await startNode(benchCluster('redis'), (app) =>
    app.eventQueue.subscribe('bench', { concurrency: CONCURRENCY, process: async (message) => t.started(message) }),
  );
  try {
    await publishAll(input, t, count, mode, (i) => node.app.eventQueue.publish('bench', { i }, { delay: DELAY_MS }));
    await until(t.done.done, input.signal, `${count} delayed messages (got ${t.done.count})`);
    return t.figures();
  } finally {
    await node.dispose(['bench']);
  }
}

async function runBullmq(input: RunInput, count: number, mode: Mode) {
  const t = tracker(count);
  const raw = await startRawBullmq({ concurrency: CONCURRENCY, process: async (job) => t.started(job.data) });
  try {
    await publishAll(input, t, count, mode, (i) => raw.add({ i }, { delay: DELAY_MS }));
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
  targetText: 'spaced: p99 of (start − due) ≤ 20 ms in every run; burst: earliest start − due ≤ 10 ms',
  budgetMs: 45_000,
  async run(ctx, report) {
    const variants = [
      { mode: 'burst', count: ctx.size(1_000, 100), what: 'published at once (all calls in flight)' },
      { mode: 'spaced', count: ctx.size(200, 40), what: `published one every ${SPACING_MS} ms` },
    ] as const;
    report.note(
      `Messages with \`delay: ${DELAY_MS}\`, concurrency ${CONCURRENCY}: ` +
        variants.map((v) => `${v.count} ${v.what}`).join('; ') +
        '. Lateness = handler start − (publish call + delay); per-run p50/p99, median over runs. "earliest start − due" ' +
        'is the wake-up alone; "first→last start span" is how long the handler starts took once they began: when it ' +
        "is much longer than the burst's publish span, a burst's tail measures throughput, not the wake-up.",
    );
    for (const [index, v] of variants.entries()) {
      const key = v.mode;
      await report.compare(key, {
        budgetMs: (ctx.deadline - performance.now()) / (variants.length - index),
        runTimeoutMs: 30_000,
        sides: {
          clusterkit: (input) => runClusterkit(input, v.count, v.mode),
          bullmq: (input) => runBullmq(input, v.count, v.mode),
        },
      });
      const common = {
        label: `${v.mode}: ${v.count} × delay ${DELAY_MS} ms`,
        unit: 'ms',
        higherIsBetter: false,
        ours: 'clusterkit',
        raw: 'bullmq',
      } as const;
      // The spaced case measures the wake-up alone: every run must meet it. A burst's tail is the queue's
      // throughput (reported, no target); its first start is the wake-up.
      report.row(key, { ...common, metric: 'p50', target: { kind: 'none' } });
      report.row(key, {
        ...common,
        metric: 'p99',
        target: v.mode === 'spaced' ? { kind: 'max-every-run', value: 20 } : { kind: 'none' },
      });
      report.row(key, {
        ...common,
        metric: 'earliest start − due',
        figure: 'firstLateness',
        target: v.mode === 'burst' ? { kind: 'max', value: 10 } : { kind: 'none' },
      });
      if (v.mode === 'burst') {
        report.row(key, { ...common, metric: 'burst publish span', figure: 'publishSpanMs', target: { kind: 'none' } });
        report.row(key, {
          ...common,
          metric: 'first→last start span',
          figure: 'startSpanMs',
          target: { kind: 'none' },
        });
      }
    }
  },
};
