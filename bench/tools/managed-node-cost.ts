/**
 * Client (node) CPU per managed job, A/B of two clusterkit builds in one process: managedQueue
 * enqueue + process (`WINDOW` enqueues in flight, handler concurrency 32, the enqueuer and the
 * worker in one app), on memory or on a PRIVATE redis-server (REDIS_URL). Per round and side: this
 * process's CPU (`process.cpuUsage`) per job, jobs/s and, on Redis, the server's CPU per job
 * (bench/lib/redis-costs.ts). The sides alternate which goes first; the summary gives each side's
 * medians, the median of the per-round differences (new − old) and in how many rounds `new` was lower.
 *
 *   CK_OLD=<ref|bundle.js> CK_NEW=<ref|worktree|bundle.js> npx tsx bench/tools/managed-node-cost.ts memory|redis [jobs] [rounds]
 *
 * A ref (commit, branch) or `worktree` is built first with tsup into bench/results/.ab/ (like
 * bench/lib/clusterkit-loader.ts builds HEAD; no tsx wrappers in the measured code); a path ending in
 * `.js` is used as it is. Without CK_OLD only `new` runs. CK_KEEP=1 keeps one app per side for every
 * round (records accumulate: a per-job cost that grows round by round is O(retained records));
 * otherwise each round starts a fresh app. CK_ONLY=new|old runs that side alone (e.g. under
 * `node --cpu-prof --import tsx`). Warm-up: one round of jobs/5 per side, not reported. Under
 * `node --expose-gc --import tsx` each round starts after a full collection (steadier figures).
 * The Redis side runs the default native engine; CK_ENGINE=records runs the record engine (`managedJobs: { engine: 'records' }`).
 * CK_RAW=1 (redis) also runs raw BullMQ (bench/lib/raw-bullmq.ts, the bench case's raw side) each round,
 * in the rotation, and prints each side's per-round throughput and server-CPU ratios to it.
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { App } from 'clusterkit';
import { bundleCommit } from '../lib/clusterkit-loader.js';
import { startRawBullmq } from '../lib/raw-bullmq.js';
import { serverCost } from '../lib/redis-costs.js';
import { deleteRedisPrefix, randomName, REDIS_URL } from '../lib/services.js';
import { quantile } from '../lib/stats.js';
import { countdown, pool } from '../lib/waiting.js';

type Bundle = { core: typeof import('clusterkit'); redis: typeof import('clusterkit/redis') };
type Backend = 'memory' | 'redis';

const CONCURRENCY = 32;
const WINDOW = 200;
const JOB = { pluginName: 'bench', queueName: 'work', jobName: 'noop' } as const;
const backend = (process.argv[2] ?? 'memory') as Backend;
if (backend !== 'memory' && backend !== 'redis')
  throw new Error('usage: managed-node-cost memory|redis [jobs] [rounds]');
const jobs = Number(process.argv[3] ?? 20_000);
const rounds = Number(process.argv[4] ?? 6);
const keep = process.env.CK_KEEP === '1';

async function load(spec: string, name: string): Promise<Bundle> {
  const file = spec.endsWith('.js') ? path.resolve(spec) : await bundleCommit(spec, name);
  return (await import(`${pathToFileURL(file).href}?side=${name}`)) as Bundle;
}

/** One side's app (with its handler counting into `sink`) and how to stop it. */
interface Side {
  readonly app: App;
  sink: { hit(): void };
  dispose(): Promise<void>;
}

async function startSide(bundle: Bundle): Promise<Side> {
  const prefix = randomName('ck-nodecost');
  const adapters =
    backend === 'redis'
      ? bundle.redis.createRedisAdapters({
          url: REDIS_URL,
          prefix,
          ...(process.env.CK_ENGINE === 'records' ? { managedJobs: { engine: 'records' as const } } : {}),
        })
      : {};
  const app = bundle.core.createApp({
    name: backend === 'redis' ? 'bench' : prefix,
    logger: bundle.core.silentLogger,
    adapters,
    stopGracePeriodMs: 2_000,
  });
  const side: Side = {
    app,
    sink: { hit() {} },
    async dispose() {
      await app.stop().catch(() => undefined);
      if (backend === 'redis') await deleteRedisPrefix(prefix).catch(() => undefined);
    },
  };
  await app.managedQueue.process({ ...JOB, concurrency: CONCURRENCY }, async () => side.sink.hit());
  await app.start();
  return side;
}

interface Figures {
  readonly nodeUs: number;
  readonly jobsPerSecond: number;
  readonly serverUs: number;
}

async function runRound(side: Side, count: number): Promise<Figures> {
  const done = countdown(count);
  side.sink = done;
  const work = async () => {
    await pool(count, WINDOW, new AbortController().signal, (i) =>
      side.app.managedQueue.enqueue({ ...JOB, payload: { i } }),
    );
    await done.done;
  };
  const cpu0 = process.cpuUsage();
  let ms: number;
  let serverUs = Number.NaN;
  if (backend === 'redis') {
    const cost = await serverCost(count, work);
    ms = cost.ms;
    serverUs = (cost.serverCpuSeconds * 1e6) / count;
  } else {
    const t0 = performance.now();
    await work();
    ms = performance.now() - t0;
  }
  const cpu = process.cpuUsage(cpu0);
  return { nodeUs: (cpu.user + cpu.system) / count, jobsPerSecond: count / (ms / 1000), serverUs };
}

const sides: { name: 'old' | 'new' | 'raw'; bundle: Bundle; kept?: Side; results: Figures[] }[] = [];
if (process.env.CK_OLD && process.env.CK_ONLY !== 'new')
  sides.push({ name: 'old', bundle: await load(process.env.CK_OLD, 'old'), results: [] });
if (process.env.CK_ONLY !== 'old')
  sides.push({ name: 'new', bundle: await load(process.env.CK_NEW ?? 'worktree', 'new'), results: [] });

/** Raw BullMQ as the bench case runs it: `queue.add({ i })`, a worker of the same concurrency. */
async function rawRound(count: number): Promise<Figures> {
  const done = countdown(count);
  const raw = await startRawBullmq({ concurrency: CONCURRENCY, process: async () => done.hit() });
  try {
    const cpu0 = process.cpuUsage();
    const cost = await serverCost(count, async () => {
      await pool(count, WINDOW, new AbortController().signal, (i) => raw.add({ i }));
      await done.done;
    });
    const cpu = process.cpuUsage(cpu0);
    return {
      nodeUs: (cpu.user + cpu.system) / count,
      jobsPerSecond: count / (cost.ms / 1000),
      serverUs: (cost.serverCpuSeconds * 1e6) / count,
    };
  } finally {
    await raw.close();
  }
}

async function measureSide(side: (typeof sides)[number], count: number): Promise<Figures> {
  if (side.name === 'raw') return rawRound(count);
  const app = keep ? (side.kept ??= await startSide(side.bundle)) : await startSide(side.bundle);
  (globalThis as { gc?: () => void }).gc?.(); // the previous round's garbage is not this round's cost
  try {
    return await runRound(app, count);
  } finally {
    if (!keep) await app.dispose();
  }
}

if (process.env.CK_RAW === '1' && backend === 'redis')
  sides.push({ name: 'raw', bundle: sides[0]!.bundle, results: [] });

const fmt = (f: Figures) =>
  `node ${f.nodeUs.toFixed(1).padStart(6)} µs/job  ${Math.round(f.jobsPerSecond).toString().padStart(6)} jobs/s` +
  (backend === 'redis' ? `  server ${f.serverUs.toFixed(0).padStart(4)} µs/job` : '');

console.log(`${backend}, ${jobs} jobs × ${rounds} rounds, load ${(await import('node:os')).loadavg()[0]!.toFixed(1)}`);
for (const side of sides) await measureSide(side, Math.ceil(jobs / 5));
for (let round = 0; round < rounds; round += 1) {
  const turn = round % sides.length; // the order rotates: each side goes first in turn
  const order = [...sides.slice(turn), ...sides.slice(0, turn)];
  for (const side of order) {
    const f = await measureSide(side, jobs);
    side.results.push(f);
    console.log(`round ${round + 1} ${side.name}  ${fmt(f)}`);
  }
}
const median = (xs: number[]) => quantile(xs, 0.5);
for (const side of sides) {
  const r = side.results;
  console.log(
    `${side.name} median: node ${median(r.map((f) => f.nodeUs)).toFixed(1)} µs/job, ` +
      `${Math.round(median(r.map((f) => f.jobsPerSecond)))} jobs/s` +
      (backend === 'redis' ? `, server ${median(r.map((f) => f.serverUs)).toFixed(0)} µs/job` : ''),
  );
}
const rawSide = sides.find((s) => s.name === 'raw');
if (rawSide) {
  for (const side of sides) {
    if (side === rawSide) continue;
    const tput = side.results.map((f, i) => f.jobsPerSecond / rawSide.results[i]!.jobsPerSecond);
    const cpu = side.results.map((f, i) => f.serverUs / rawSide.results[i]!.serverUs);
    console.log(
      `${side.name}/raw per round: throughput ${tput.map((x) => x.toFixed(2)).join(' ')} (median ${median(tput).toFixed(3)}), ` +
        `server CPU ${cpu.map((x) => x.toFixed(2)).join(' ')} (median ${median(cpu).toFixed(3)})`,
    );
  }
}
const [a, b] = sides.filter((s) => s.name !== 'raw');
if (a && b) {
  const diffs = b.results.map((f, i) => f.nodeUs - a.results[i]!.nodeUs);
  const ratios = b.results.map((f, i) => f.jobsPerSecond / a.results[i]!.jobsPerSecond);
  console.log(
    `new − old node CPU: median ${median(diffs).toFixed(1)} µs/job, lower in ${diffs.filter((d) => d < 0).length} of ${diffs.length}; ` +
      `jobs/s new/old median ${median(ratios).toFixed(3)}, higher in ${ratios.filter((x) => x > 1).length} of ${ratios.length}`,
  );
}
for (const side of sides) await side.kept?.dispose();
process.exit(0);
