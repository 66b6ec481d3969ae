/**
 * PostgreSQL locks: (1) uncontended acquire + release, one after another, and (2) 4 workers
 * contending for one key (handoff latency and fairness). clusterkit's lease locks (a table, a
 * fencing token per grant, FIFO line, NOTIFY on release) against raw session advisory locks
 * (`pg_advisory_lock` / `pg_advisory_unlock` on a dedicated connection per worker: no lease, no
 * fencing, lost with the connection — the baseline a PostgreSQL user would reach for).
 */
import pg from 'pg';
import type { BenchCase } from '../lib/case.js';
import { benchCluster, startNode, type BenchApp } from '../lib/clusterkit-app.js';
import type { RunInput } from '../lib/harness.js';
import { DATABASE_URL } from '../lib/services.js';
import { latencyPercentiles } from '../lib/stats.js';
import { contend } from './lock-contended.js';

const WORKERS = 4;
const TTL_MS = 10_000;

async function sequential(input: RunInput, iterations: number, once: () => Promise<void>) {
  const times: number[] = [];
  for (let i = 0; i < iterations && !input.signal.aborted; i += 1) {
    const t0 = performance.now();
    await once();
    times.push(performance.now() - t0);
  }
  const p = latencyPercentiles(times);
  return { p50: p.p50, p99: p.p99, opsPerSecond: times.length / (times.reduce((a, b) => a + b, 0) / 1000) };
}

async function advisoryClients(n: number): Promise<pg.Client[]> {
  const clients = Array.from({ length: n }, () => new pg.Client({ connectionString: DATABASE_URL }));
  await Promise.all(clients.map((c) => c.connect()));
  return clients;
}

const KEY = 424_242;

/** The case. */
export const postgresLocks: BenchCase = {
  name: 'postgres-locks',
  title: 'PostgreSQL locks: acquire + release, and 4 contending workers',
  compareWith: 'raw pg_advisory_lock / pg_advisory_unlock (session locks)',
  targetText: 'contended fairness (min/max acquisitions per worker) ≥ 0.9',
  budgetMs: 90_000,
  async run(ctx, report) {
    const iterations = ctx.size(1_000, 100);
    const durationMs = ctx.size(3_000, 1_000);
    report.note(
      `Sequential: ${iterations} acquire + release pairs on one key, one node (clusterkit: \`lockManager.acquire\` + ` +
        '`release`, two statements; raw: `pg_advisory_lock` + `pg_advisory_unlock`, two statements). Contended: ' +
        `${WORKERS} workers, each its own node/connection, loop acquire → hold 1 ms → release for ` +
        `${durationMs / 1000} s; handoff = next acquire resolving − release call.`,
    );
    await report.compare('sequential', {
      budgetMs: (ctx.deadline - performance.now()) / 2,
      runTimeoutMs: 60_000,
      sides: {
        clusterkit: async (input) => {
          const node = await startNode(benchCluster('postgres'));
          try {
            return await sequential(input, input.warmup ? 50 : iterations, async () => {
              const lock = await node.app.lockManager.acquire('bench', TTL_MS);
              await lock.release();
            });
          } finally {
            await node.dispose();
          }
        },
        advisory: async (input) => {
          const [client] = await advisoryClients(1);
          try {
            return await sequential(input, input.warmup ? 50 : iterations, async () => {
              await client!.query('SELECT pg_advisory_lock($1)', [KEY]);
              await client!.query('SELECT pg_advisory_unlock($1)', [KEY]);
            });
          } finally {
            await client!.end();
          }
        },
      },
    });
    const seq = { label: 'sequential', ours: 'clusterkit', raw: 'advisory', target: { kind: 'none' } } as const;
    report.row('sequential', {
      ...seq,
      metric: 'acquire+release p50',
      figure: 'p50',
      unit: 'ms',
      higherIsBetter: false,
    });
    report.row('sequential', {
      ...seq,
      metric: 'pairs/s',
      figure: 'opsPerSecond',
      unit: 'ops/s',
      higherIsBetter: true,
    });

    await report.compare('4 workers', {
      budgetMs: ctx.deadline - performance.now(),
      runTimeoutMs: durationMs + 20_000,
      sides: {
        clusterkit: async (input) => {
          const cluster = benchCluster('postgres');
          const nodes: BenchApp[] = [];
          try {
            for (let i = 0; i < WORKERS; i += 1) nodes.push(await startNode(cluster));
            return await contend(
              input,
              input.warmup ? 500 : durationMs,
              nodes.map((node) => async (stop) => {
                const lock = await node.app.lockManager.acquire('bench', TTL_MS, { signal: stop });
                return () => lock.release().then(() => undefined);
              }),
            );
          } finally {
            for (const node of nodes) await node.dispose();
          }
        },
        advisory: async (input) => {
          const clients = await advisoryClients(WORKERS);
          try {
            return await contend(
              input,
              input.warmup ? 500 : durationMs,
              clients.map((client) => async () => {
                await client.query('SELECT pg_advisory_lock($1)', [KEY]);
                return () => client.query('SELECT pg_advisory_unlock($1)', [KEY]).then(() => undefined);
              }),
            );
          } finally {
            await Promise.all(clients.map((c) => c.end()));
          }
        },
      },
    });
    const common = { label: '4 workers', ours: 'clusterkit', raw: 'advisory' } as const;
    const ms = { ...common, unit: 'ms', higherIsBetter: false } as const;
    report.row('4 workers', { ...ms, metric: 'handoff p50', figure: 'p50', target: { kind: 'none' } });
    report.row('4 workers', {
      ...ms,
      metric: 'handoff to another worker p50',
      figure: 'crossP50',
      target: { kind: 'none' },
    });
    report.row('4 workers', {
      ...common,
      metric: 'fairness (min/max per worker)',
      figure: 'fairness',
      unit: 'ratio',
      higherIsBetter: true,
      target: { kind: 'min', value: 0.9 },
    });
    report.row('4 workers', {
      ...common,
      metric: 'share of handoffs to another worker',
      figure: 'crossShare',
      unit: 'ratio',
      higherIsBetter: true,
      target: { kind: 'none' },
    });
  },
};
