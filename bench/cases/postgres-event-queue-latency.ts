/**
 * PostgreSQL event queue latency with an idle worker: publish call → handler start, one message at a
 * time with a short idle gap (the worker is back to waiting each time). clusterkit's consumers are
 * woken by NOTIFY; compared with graphile-worker (NOTIFY too) and pg-boss (polling, 0.5 s at its fastest).
 */
import type { BenchCase } from '../lib/case.js';
import { benchCluster, startNode } from '../lib/clusterkit-app.js';
import type { RunInput } from '../lib/harness.js';
import { startRawGraphile, startRawPgBoss, type RawPgQueue } from '../lib/raw-pg.js';
import type { Deferred } from '../lib/waiting.js';
import { IDLE_GAP_MS, measure } from './redis-event-queue-latency.js';

async function runClusterkit(input: RunInput, samples: number, durablePublish = true) {
  const started: { current?: Deferred<number> } = {};
  const node = await startNode(benchCluster('postgres', { durablePublish }), (app) =>
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

async function runRaw(
  input: RunInput,
  samples: number,
  start: (o: { concurrency: number; process: () => Promise<void> }) => Promise<RawPgQueue>,
) {
  const started: { current?: Deferred<number> } = {};
  const raw = await start({ concurrency: 1, process: async () => started.current?.resolve(performance.now()) });
  try {
    return await measure(input, samples, (i) => raw.add({ i }), started);
  } finally {
    await raw.close();
  }
}

/** The case. */
export const postgresEventQueueLatency: BenchCase = {
  name: 'postgres-event-queue-latency',
  title: 'PostgreSQL eventQueue publish→handler latency',
  compareWith: 'raw graphile-worker (NOTIFY) and raw pg-boss (polling)',
  targetText: 'p50 ≤ 5 ms on an idle worker',
  budgetMs: 90_000,
  async run(ctx, report) {
    const samples = ctx.size(200, 20);
    const pgBossSamples = ctx.size(20, 5);
    report.note(
      `${samples} messages per run (pg-boss: ${pgBossSamples}, since each waits for its 0.5 s poll), one at a time, ` +
        `${IDLE_GAP_MS} ms idle between them; latency = handler start − publish call (same process). Concurrency 1.`,
    );
    await report.compare('idle worker', {
      budgetMs: ctx.deadline - performance.now(),
      runTimeoutMs: 60_000,
      sides: {
        clusterkit: (input) => runClusterkit(input, input.warmup ? 20 : samples),
        'clusterkit, durablePublish: false': (input) => runClusterkit(input, input.warmup ? 20 : samples, false),
        'graphile-worker': (input) => runRaw(input, input.warmup ? 20 : samples, startRawGraphile),
        'pg-boss': (input) => runRaw(input, input.warmup ? 3 : pgBossSamples, startRawPgBoss),
      },
    });
    const common = { label: 'idle worker', unit: 'ms', higherIsBetter: false, ours: 'clusterkit' } as const;
    report.row('idle worker', { ...common, metric: 'p50', raw: 'graphile-worker', target: { kind: 'max', value: 5 } });
    report.row('idle worker', { ...common, metric: 'p50', raw: 'pg-boss', target: { kind: 'max', value: 5 } });
    report.row('idle worker', { ...common, metric: 'p99', raw: 'graphile-worker', target: { kind: 'none' } });
    // The same without waiting for the WAL flush on publish (opt-in: the last publishes can be lost in a server crash).
    const fast = { ...common, ours: 'clusterkit, durablePublish: false' } as const;
    report.row('idle worker', {
      ...fast,
      label: 'idle worker, durablePublish: false',
      metric: 'p50',
      raw: 'graphile-worker',
      target: { kind: 'max', value: 5 },
    });
  },
};
