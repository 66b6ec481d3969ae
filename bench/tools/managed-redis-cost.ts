/**
 * Redis server cost per job of managedQueue enqueue+process against raw BullMQ, on a PRIVATE
 * redis-server (REDIS_URL): per side, the `INFO commandstats` deltas (EVALSHA/EVAL calls and
 * server µs, PUBLISH calls), the `INFO cpu` delta and this process's CPU (both sides' clients run
 * here), per job. Sides alternate in one process.
 *
 *   REDIS_URL=redis://127.0.0.1:6411 npx tsx bench/tools/managed-redis-cost.ts [jobs] [pairs]
 *
 * Only meaningful while nothing else uses that server. Loads the working tree's TypeScript sources.
 * CK_ONLY=clusterkit|old|bullmq runs one side once (e.g. under `SLOWLOG` with threshold 0 for per-script
 * times); CK_TOP=n lists the n costliest commands of each run; CK_BULL_PRIORITY=1 gives raw BullMQ's
 * jobs a priority (its prioritized path, which clusterkit's physical queue takes once demoted).
 * CK_BULL_TICKET=1 makes raw BullMQ's jobs ticket-sized (data and id).
 * CK_OLD=<dir>: a second tree's sources (`git archive <commit> src adapters | tar -x -C <dir>`, under
 * the repository so its imports resolve) run as a third side, `old`, alternating with the others.
 * Caution: `src/index.ts` re-exports the core from `clusterkit/adapter-kit`, which tsconfig maps to the
 * WORKING TREE, so a directory's `old` side runs the working tree's core with the old tree's adapter
 * files. For core (src/) changes pass bundles: CK_OLD=<bundle.js> and CK_NEW=<bundle.js> (each
 * `export * as core from 'clusterkit'; export * as redis from 'clusterkit/redis'`, built with tsup
 * from one tree with its own tsconfig, as bench/lib/clusterkit-loader.ts builds HEAD, under the
 * repository so their imports resolve).
 */
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { App } from 'clusterkit';
import { benchCluster, startNode, type BenchApp } from '../lib/clusterkit-app.js';
import { startRawBullmq } from '../lib/raw-bullmq.js';
import { serverCost, topCommands } from '../lib/redis-costs.js';
import { deleteRedisPrefix, REDIS_URL } from '../lib/services.js';
import { countdown, pool } from '../lib/waiting.js';

const CONCURRENCY = 32;
/** CK_BULL_TICKET=1: raw BullMQ's jobs as big as a managed job's ticket (data ~350 bytes, an id like a ticket's). */
const ticketSized = process.env.CK_BULL_TICKET === '1';
const PAD = 'x'.repeat(330);
const WINDOW = 200;
const JOB = { pluginName: 'bench', queueName: 'work', jobName: 'noop' } as const;
const jobs = Number(process.argv[2] ?? 5000);
const pairs = Number(process.argv[3] ?? 3);

async function measure(side: string, count: number, work: () => Promise<void>): Promise<void> {
  const node0 = process.cpuUsage();
  const cost = await serverCost(count, work);
  const node1 = process.cpuUsage(node0);
  const ev = cost.delta('evalsha');
  const pub = cost.delta('publish');
  let totalCalls = 0;
  for (const name of cost.names) totalCalls += cost.delta(name).calls;
  if (process.env.CK_TOP) {
    for (const r of topCommands(cost, Number(process.env.CK_TOP), 'usec'))
      console.log(
        `  ${r.name.padEnd(16)} ${r.calls.toFixed(2).padStart(6)}/job ${r.usec.toFixed(1).padStart(7)} µs/job`,
      );
  }
  console.log(
    `${side.padEnd(10)} ${Math.round(count / (cost.ms / 1000))
      .toString()
      .padStart(6)} jobs/s  server CPU ${((cost.serverCpuSeconds * 1e6) / count).toFixed(0).padStart(4)} µs/job  ` +
      `EVALSHA ${ev.calls.toFixed(2)}/job ${ev.usec.toFixed(0)} µs/job  PUBLISH ${pub.calls.toFixed(2)}/job  ` +
      `commands ${totalCalls.toFixed(1)}/job  node CPU ${((node1.user + node1.system) / count).toFixed(0)} µs/job`,
  );
}

type Core = typeof import('clusterkit');
type Redis = typeof import('clusterkit/redis');
/** A bench bundle (`export * as core`, `export * as redis`), e.g. built like clusterkit-loader.ts does. */
async function importBundle(file: string): Promise<{ core: Core; redis: Redis }> {
  const bundle = (await import(pathToFileURL(path.resolve(file)).href)) as { core: Core; redis: Redis };
  return { core: bundle.core, redis: bundle.redis };
}
const old = process.env.CK_OLD?.endsWith('.js')
  ? await importBundle(process.env.CK_OLD)
  : process.env.CK_OLD
    ? {
        core: (await import(`${process.env.CK_OLD}/src/index.ts`)) as Core,
        redis: (await import(`${process.env.CK_OLD}/adapters/redis/index.ts`)) as Redis,
      }
    : undefined;
/** CK_NEW=<bundle.js>: the `clusterkit` side from a bundle too (else the working tree's sources through tsx). */
const fresh = process.env.CK_NEW ? await importBundle(process.env.CK_NEW) : undefined;

/** A node of the other tree (CK_OLD), made the way `startNode` makes one. */
async function startOldNode(beforeStart: (app: App) => Promise<void>, tree = old!): Promise<BenchApp> {
  const { name, prefix } = benchCluster('redis');
  const adapters = tree.redis.createRedisAdapters({ url: REDIS_URL, prefix });
  const app = tree.core.createApp({ name, logger: old!.core.silentLogger, adapters, stopGracePeriodMs: 2_000 });
  await beforeStart(app);
  await app.start();
  return {
    app,
    adapters,
    async dispose() {
      await app.stop().catch(() => undefined);
      await deleteRedisPrefix(prefix).catch(() => undefined);
    },
  };
}

async function clusterkit(count: number, side = 'clusterkit'): Promise<void> {
  const done = countdown(count);
  const register = async (app: App) => {
    await app.managedQueue.process({ ...JOB, concurrency: CONCURRENCY }, async () => done.hit());
  };
  const node =
    side === 'old'
      ? await startOldNode(register)
      : fresh
        ? await startOldNode(register, fresh)
        : await startNode(benchCluster('redis'), register);
  try {
    await measure(side, count, async () => {
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
        raw.add(
          { i, ...(ticketSized ? { pad: PAD } : {}) },
          {
            ...(process.env.CK_BULL_PRIORITY ? { priority: 3 } : {}),
            ...(ticketSized ? { jobId: `${randomUUID()}|${randomUUID().slice(0, 12)}|0` } : {}),
          },
        ),
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
if (process.env.CK_ONLY === 'old') {
  await clusterkit(jobs, 'old');
  process.exit(0);
}
if (process.env.CK_ONLY === 'bullmq') {
  await bullmq(jobs);
  process.exit(0);
}
await clusterkit(Math.ceil(jobs / 5));
if (old) await clusterkit(Math.ceil(jobs / 5), 'old');
await bullmq(Math.ceil(jobs / 5));
for (let i = 0; i < pairs; i += 1) {
  // With CK_OLD the two trees take turns going first (the side after raw BullMQ runs on its leftovers).
  if (old && i % 2 === 1) await clusterkit(jobs, 'old');
  await clusterkit(jobs);
  if (old && i % 2 === 0) await clusterkit(jobs, 'old');
  await bullmq(jobs);
}
process.exit(0);
