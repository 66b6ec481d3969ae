/**
 * PostgreSQL queue table size over a long run: N messages (1,000,000 by default) published and
 * processed with at most a few thousand waiting at any time; the size of the adapter's queue tables
 * (`jobs` and `completed`, indexes and TOAST included) is sampled every tenth of the run. Bounded
 * means the size stops growing with the number of processed messages: acknowledged rows are
 * deleted, dead tuples are reclaimed by (auto)vacuum and their space reused.
 * `BENCH_PG_TABLE_JOBS=<n>` sets N for development runs; `--quick` uses 20,000.
 */
import pg from 'pg';
import type { BenchCase } from '../lib/case.js';
import { benchCluster, startNode } from '../lib/clusterkit-app.js';
import type { RunInput } from '../lib/harness.js';
import { DATABASE_URL } from '../lib/services.js';
import { countdown, sleep, until } from '../lib/waiting.js';

const BACKLOG = 2_000;
const WINDOW = 100;

async function sizeMB(client: pg.Client, schema: string): Promise<number> {
  const { rows } = await client.query<{ bytes: string }>(
    `SELECT (pg_total_relation_size(format('%I.jobs', $1::text)) + pg_total_relation_size(format('%I.completed', $1::text)))::text AS bytes`,
    [schema],
  );
  return Number(rows[0]!.bytes) / 1024 / 1024;
}

async function run(input: RunInput, total: number) {
  const cluster = benchCluster('postgres');
  const done = countdown(total);
  const node = await startNode(cluster, (app) =>
    app.eventQueue.subscribe('bench', { concurrency: 50, process: async () => done.hit() }),
  );
  const client = new pg.Client({ connectionString: DATABASE_URL });
  await client.connect();
  const samples: number[] = [];
  const began = performance.now();
  try {
    let published = 0;
    let nextSample = total / 10;
    const publisher = async () => {
      while (published < total && !input.signal.aborted) {
        if (published - done.count > BACKLOG) {
          await sleep(5);
          continue;
        }
        published += 1;
        await node.app.eventQueue.publish('bench', { i: published });
      }
    };
    const sampler = async () => {
      while (done.count < total && !input.signal.aborted) {
        if (done.count >= nextSample) {
          samples.push(await sizeMB(client, cluster.prefix));
          nextSample += total / 10;
        }
        await sleep(200);
      }
    };
    await Promise.all([...Array.from({ length: WINDOW }, publisher), sampler()]);
    await until(done.done, input.signal, `${total} handled (got ${done.count})`);
    samples.push(await sizeMB(client, cluster.prefix));
    const half = samples[Math.floor(samples.length / 2) - 1] ?? samples[0]!;
    return {
      finalMB: samples[samples.length - 1]!,
      peakMB: Math.max(...samples),
      halfwayMB: half,
      throughput: total / ((performance.now() - began) / 1000),
    };
  } finally {
    await client.end();
    await node.dispose(['bench']);
  }
}

/** The case. */
export const postgresTableSize: BenchCase = {
  name: 'postgres-table-size',
  title: 'PostgreSQL queue table size after many processed messages',
  compareWith: 'itself halfway through the run (bounded: no growth with the number processed)',
  targetText: 'queue tables ≤ 64 MB at the end of the run',
  budgetMs: 1_800_000,
  async run(ctx, report) {
    const fromEnv = Number(process.env.BENCH_PG_TABLE_JOBS);
    const total = Number.isInteger(fromEnv) && fromEnv > 0 ? fromEnv : ctx.size(1_000_000, 20_000);
    report.note(
      `${total.toLocaleString('en-US')} messages published (at most ${BACKLOG} waiting) and processed at concurrency 50 ` +
        'by one node, default options; size = `pg_total_relation_size` of `jobs` + `completed`, sampled every tenth ' +
        'of the run. Autovacuum as configured on the server (the tables ask for vacuum at 1 % dead rows).',
    );
    await report.compare(`${total} messages`, {
      budgetMs: ctx.deadline - performance.now(),
      runTimeoutMs: ctx.deadline - performance.now(),
      runs: 1,
      warmup: false,
      sides: { clusterkit: (input) => run(input, total) },
    });
    const common = { label: `${total} messages`, ours: 'clusterkit', unit: 'MB', higherIsBetter: false } as const;
    report.row(`${total} messages`, {
      ...common,
      metric: 'size at the end',
      figure: 'finalMB',
      target: { kind: 'max', value: 64 },
    });
    report.row(`${total} messages`, {
      ...common,
      metric: 'largest sample',
      figure: 'peakMB',
      target: { kind: 'none' },
    });
    report.row(`${total} messages`, {
      ...common,
      metric: 'size halfway',
      figure: 'halfwayMB',
      target: { kind: 'none' },
    });
  },
};
