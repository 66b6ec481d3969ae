/**
 * Managed jobs throughput on Redis: N logical jobs enqueued with `app.managedQueue.enqueue` and run
 * by a handler registered with `managedQueue.process` — through the job envelope, the job records
 * and the per-handler routing on the one physical queue — against raw BullMQ on one queue with the
 * same concurrency. Both engines run: the default (job record + ticket on one physical queue) and the
 * experimental native engine (`managedJobs: { engine: 'native' }`: a managed job is a BullMQ job of
 * its handler's own queue).
 */
import type { BenchCase } from '../lib/case.js';
import { benchCluster, startNode } from '../lib/clusterkit-app.js';
import type { RunInput } from '../lib/harness.js';
import { startRawBullmq } from '../lib/raw-bullmq.js';
import { withRedisCpu } from '../lib/services.js';
import { countdown, pool, until } from '../lib/waiting.js';

/** Handler concurrency on both sides; also the managed queue's default physical worker concurrency. */
const CONCURRENCY = 32;
const PUBLISH_WINDOW = 200;
const JOB = { pluginName: 'bench', queueName: 'work', jobName: 'noop' } as const;

async function runClusterkit(input: RunInput, count: number, jobEngine: 'native' | 'records' = 'native') {
  const done = countdown(count);
  const node = await startNode(benchCluster('redis', { jobEngine }), async (app) => {
    await app.managedQueue.process({ ...JOB, concurrency: CONCURRENCY }, async () => done.hit());
  });
  try {
    const { result: start, serverUsPerUnit } = await withRedisCpu(count, async () => {
      const began = performance.now();
      await pool(count, PUBLISH_WINDOW, input.signal, (i) => node.app.managedQueue.enqueue({ ...JOB, payload: { i } }));
      await until(done.done, input.signal, `${count} jobs (got ${done.count})`);
      return began;
    });
    return { throughput: count / ((done.lastAt - start) / 1000), serverUsPerMsg: serverUsPerUnit };
  } finally {
    await node.dispose();
  }
}

async function runBullmq(input: RunInput, count: number) {
  const done = countdown(count);
  const raw = await startRawBullmq({ concurrency: CONCURRENCY, process: async () => done.hit() });
  try {
    const { result: start, serverUsPerUnit } = await withRedisCpu(count, async () => {
      const began = performance.now();
      await pool(count, PUBLISH_WINDOW, input.signal, (i) => raw.add({ i }));
      await until(done.done, input.signal, `${count} jobs (got ${done.count})`);
      return began;
    });
    return { throughput: count / ((done.lastAt - start) / 1000), serverUsPerMsg: serverUsPerUnit };
  } finally {
    await raw.close();
  }
}

/** The case. */
export const managedQueueThroughput: BenchCase = {
  name: 'managed-queue-throughput',
  title: 'managedQueue enqueue+process (Redis)',
  compareWith: 'raw BullMQ on one queue, same concurrency',
  targetText: '≥ 0.90× raw BullMQ throughput and ≤ 1.3× its Redis server CPU per job',
  budgetMs: 100_000,
  async run(ctx, report) {
    const count = ctx.size(10_000, 500);
    report.note(
      `${count} jobs per run, enqueued through a pool of ${PUBLISH_WINDOW} concurrent calls while the handler runs; ` +
        `handler concurrency ${CONCURRENCY} on both sides (the managed queue's physical worker concurrency is its ` +
        'default, 32). "clusterkit" is the default native engine on Redis: each job is a BullMQ job of its handler\'s ' +
        'own queue, kept with its attempt history (state, attempts, timestamps) for 24 h; raw BullMQ keeps 1,000 completed ' +
        'jobs. "clusterkit records" is the record engine (`managedJobs: { engine: \'records\' }`): a job record per job ' +
        'in the Redis job store and a ticket on one physical queue.',
    );
    await report.compare('redis', {
      budgetMs: ctx.deadline - performance.now(),
      runTimeoutMs: ctx.size(60_000, 20_000),
      sides: {
        clusterkit: (input) => runClusterkit(input, input.warmup ? Math.ceil(count / 5) : count),
        'clusterkit records': (input) => runClusterkit(input, input.warmup ? Math.ceil(count / 5) : count, 'records'),
        bullmq: (input) => runBullmq(input, input.warmup ? Math.ceil(count / 5) : count),
      },
    });
    for (const [ours, engine] of [
      ['clusterkit', 'native engine (default)'],
      ['clusterkit records', 'record engine'],
    ] as const) {
      const label = `Redis, concurrency ${CONCURRENCY}, ${engine}`;
      const common = { label, ours, raw: 'bullmq' } as const;
      report.row('redis', {
        ...common,
        metric: 'throughput',
        unit: 'jobs/s',
        higherIsBetter: true,
        target: { kind: 'min-ratio', value: 0.9 },
      });
      report.row('redis', {
        ...common,
        metric: 'Redis server CPU per job',
        figure: 'serverUsPerMsg',
        unit: 'µs',
        higherIsBetter: false,
        target: { kind: 'max-ratio', value: 1.3 },
      });
    }
  },
};
