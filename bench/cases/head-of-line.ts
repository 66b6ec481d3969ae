/**
 * Head-of-line blocking in the managed job layer: 1,000 jobs are queued for plugin A's handler
 * (concurrency 1, 2 ms per job), then 100 jobs of plugin B are enqueued; B's wait (handler start −
 * enqueue call) must not grow with A's backlog. Compared with B alone (no backlog of A), not with a
 * raw library: a single BullMQ queue shared by both plugins is exactly the problem this layer exists
 * to avoid.
 */
import type { BenchCase } from '../lib/case.js';
import { benchCluster, startNode, type Backend } from '../lib/clusterkit-app.js';
import type { RunInput } from '../lib/harness.js';
import { latencyPercentiles } from '../lib/stats.js';
import { countdown, pool, sleep, until } from '../lib/waiting.js';

const BACKLOG = 1_000;
const OTHERS = 100;
const SLOW_JOB_MS = 2;
const A = { pluginName: 'plugin-a', queueName: 'slow', jobName: 'work' } as const;
const B = { pluginName: 'plugin-b', queueName: 'fast', jobName: 'work' } as const;

/** Memory, Redis with its default native engine, Redis with the record engine. */
type Engine = Backend | 'redis-records';

async function run(input: RunInput, engine: Engine, backlog: number, others: number) {
  const waits = new Float64Array(others);
  const sentAt = new Float64Array(others);
  const done = countdown(others);
  const cluster =
    engine === 'redis-records' ? benchCluster('redis', { jobEngine: 'records' }) : benchCluster(engine as Backend);
  const node = await startNode(cluster, async (app) => {
    await app.managedQueue.process({ ...A, concurrency: 1 }, () => sleep(SLOW_JOB_MS));
    await app.managedQueue.process({ ...B, concurrency: 10 }, async (job) => {
      const i = (job.data as { i: number }).i;
      waits[i] = performance.now() - (sentAt[i] as number);
      done.hit();
    });
  });
  try {
    await pool(backlog, 200, input.signal, (i) => node.app.managedQueue.enqueue({ ...A, payload: { i } }));
    await pool(others, others, input.signal, (i) => {
      sentAt[i] = performance.now();
      return node.app.managedQueue.enqueue({ ...B, payload: { i } });
    });
    await until(done.done, input.signal, `${others} jobs of plugin B (got ${done.count})`);
    const p = latencyPercentiles(Array.from(waits));
    return { p50: p.p50, p99: p.p99, max: p.max };
  } finally {
    await node.dispose();
  }
}

/** The case. */
export const headOfLine: BenchCase = {
  name: 'head-of-line',
  title: 'Managed jobs head-of-line',
  compareWith: 'B alone (the same jobs of B with no backlog of A)',
  targetText: "other plugin's p99 wait ≤ 50 ms",
  budgetMs: 65_000,
  async run(ctx, report) {
    const backlog = ctx.size(BACKLOG, 200);
    const others = ctx.size(OTHERS, 20);
    report.note(
      `${backlog} jobs enqueued for plugin A (handler concurrency 1, ${SLOW_JOB_MS} ms each), then ${others} jobs for ` +
        'plugin B (concurrency 10) enqueued at once; wait = B handler start − B enqueue call. The run ends when B is ' +
        'done; A\'s remaining backlog is discarded with the run\'s keys. "B alone" is the same run with no job of A ' +
        "queued: the wait B's own 100 jobs take through the managed layer, which the head of line adds to. " +
        "Redis runs both engines: the default native one (each handler's jobs in its own BullMQ queue) and the record " +
        "engine (one physical queue for every plugin's tickets).",
    );
    const engines = ['memory', 'redis', 'redis-records'] as const;
    for (const [index, backend] of engines.entries()) {
      const share = (ctx.deadline - performance.now()) / (engines.length - index);
      await report.compare(backend, {
        budgetMs: share,
        runTimeoutMs: 30_000,
        sides: {
          clusterkit: (input) => run(input, backend, backlog, others),
          // The same 100 jobs of B with nothing queued for A: what B's wait is without any head of line.
          'B alone': (input) => run(input, backend, 0, others),
        },
      });
      const label = { memory: 'memory', redis: 'Redis, native engine', 'redis-records': 'Redis, record engine' }[
        backend
      ];
      const common = { label, unit: 'ms', higherIsBetter: false, ours: 'clusterkit', raw: 'B alone' } as const;
      report.row(backend, { ...common, metric: 'B wait p50', figure: 'p50', target: { kind: 'none' } });
      report.row(backend, { ...common, metric: 'B wait p99', figure: 'p99', target: { kind: 'max', value: 50 } });
    }
  },
};
