/**
 * Redis server cost per job of managedQueue enqueue+process against raw BullMQ, on a PRIVATE
 * redis-server (REDIS_URL): per side, the `INFO commandstats` deltas (EVALSHA/EVAL calls and
 * server µs, PUBLISH calls) and the `INFO cpu` delta, per job. Sides alternate in one process.
 *
 *   REDIS_URL=redis://127.0.0.1:6411 npx tsx bench/tools/managed-redis-cost.ts [jobs] [pairs]
 *
 * Only meaningful while nothing else uses that server. Loads the working tree's TypeScript sources.
 * CK_ONLY=clusterkit|bullmq runs one side once (e.g. under `SLOWLOG` with threshold 0 for per-script
 * times); CK_TOP=n lists the n costliest commands of each run; CK_BULL_PRIORITY=1 gives raw BullMQ's
 * jobs a priority (its prioritized path, which clusterkit's physical queue takes once demoted).
 */
import { benchCluster, startNode } from '../lib/clusterkit-app.js';
import { startRawBullmq } from '../lib/raw-bullmq.js';
import { serverCost } from '../lib/redis-costs.js';
import { countdown, pool } from '../lib/waiting.js';

const CONCURRENCY = 32;
const WINDOW = 200;
const JOB = { pluginName: 'bench', queueName: 'work', jobName: 'noop' } as const;
const jobs = Number(process.argv[2] ?? 5000);
const pairs = Number(process.argv[3] ?? 3);

async function measure(side: string, count: number, work: () => Promise<void>): Promise<void> {
  const cost = await serverCost(count, work);
  const ev = cost.delta('evalsha');
  const pub = cost.delta('publish');
  let totalCalls = 0;
  for (const name of cost.names) totalCalls += cost.delta(name).calls;
  if (process.env.CK_TOP) {
    const rows = cost.names
      .map((name) => ({ name, ...cost.delta(name) }))
      .filter((r) => r.calls > 0)
      .sort((a, b) => b.usec - a.usec)
      .slice(0, Number(process.env.CK_TOP));
    for (const r of rows)
      console.log(
        `  ${r.name.padEnd(16)} ${r.calls.toFixed(2).padStart(6)}/job ${r.usec.toFixed(1).padStart(7)} µs/job`,
      );
  }
  console.log(
    `${side.padEnd(10)} ${Math.round(count / (cost.ms / 1000))
      .toString()
      .padStart(6)} jobs/s  server CPU ${((cost.serverCpuSeconds * 1e6) / count).toFixed(0).padStart(4)} µs/job  ` +
      `EVALSHA ${ev.calls.toFixed(2)}/job ${ev.usec.toFixed(0)} µs/job  PUBLISH ${pub.calls.toFixed(2)}/job  ` +
      `commands ${totalCalls.toFixed(1)}/job`,
  );
}

async function clusterkit(count: number): Promise<void> {
  const done = countdown(count);
  const node = await startNode(benchCluster('redis'), async (app) => {
    await app.managedQueue.process({ ...JOB, concurrency: CONCURRENCY }, async () => done.hit());
  });
  try {
    await measure('clusterkit', count, async () => {
      await pool(count, WINDOW, new AbortController().signal, (i) =>
        node.app.managedQueue.enqueue({ ...JOB, payload: { i } }),
      );
      await done.done;
    });
  } finally {
    await node.dispose();
  }
}

async function bullmq(count: number): Promise<void> {
  const done = countdown(count);
  const raw = await startRawBullmq({ concurrency: CONCURRENCY, process: async () => done.hit() });
  try {
    await measure('bullmq', count, async () => {
      await pool(count, WINDOW, new AbortController().signal, (i) =>
        raw.add({ i }, process.env.CK_BULL_PRIORITY ? { priority: 3 } : undefined),
      );
      await done.done;
    });
  } finally {
    await raw.close();
  }
}

if (process.env.CK_ONLY === 'clusterkit') {
  await clusterkit(jobs);
  process.exit(0);
}
if (process.env.CK_ONLY === 'bullmq') {
  await bullmq(jobs);
  process.exit(0);
}
await clusterkit(Math.ceil(jobs / 5));
await bullmq(Math.ceil(jobs / 5));
for (let i = 0; i < pairs; i += 1) {
  await clusterkit(jobs);
  await bullmq(jobs);
}
process.exit(0);
