/**
 * The native managed-job engine (stage 1, `createRedisAdapters({ managedJobs: { engine: 'native' } })`)
 * measured against raw BullMQ and today's engine (job records + tickets), on a PRIVATE redis-server
 * (REDIS_URL): `app.managedQueue.enqueue` + `process` exactly as bench/cases/managed-queue-throughput.ts
 * runs it (10,000 jobs, 200 enqueues in flight, handler concurrency 32), the three sides alternating
 * in one process after a warm-up (the order rotates each round). Per side and round: jobs/s, Redis
 * server CPU µs per job (`INFO cpu` delta), commands per job (`INFO commandstats`, commands inside
 * scripts included), EVALSHA calls per job, this process's CPU µs per job (every side's clients run
 * here); at the end the medians and each round's ratio to that round's raw run ("paired").
 *
 *   REDIS_URL=redis://127.0.0.1:6461 npx tsx bench/tools/managed-native-engine.ts [jobs] [rounds]
 *
 * NE_SIDES (default `bullmq,records,native`): the sides; `native-t` is the native engine with every job
 * enqueued with a tenant (`tenantId: 't1'`: the tenant index written by the add). NE_TOP=n prints each run's n most called commands.
 */
import { loadavg } from 'node:os';
import { benchCluster, startNode } from '../lib/clusterkit-app.js';
import { prepareClusterkit } from '../lib/clusterkit-loader.js';
import { startRawBullmq } from '../lib/raw-bullmq.js';
import { serverCost, topCommands } from '../lib/redis-costs.js';
import { quantile } from '../lib/stats.js';
import { countdown, pool } from '../lib/waiting.js';

const CONCURRENCY = 32;
const WINDOW = 200;
const JOB = { pluginName: 'bench', queueName: 'work', jobName: 'noop' } as const;
const jobs = Number(process.argv[2] ?? 10_000);
const rounds = Number(process.argv[3] ?? 5);
const sides = (process.env.NE_SIDES ?? 'bullmq,records,native').split(',');

/** One side's figures per job for one run. */
interface Figures {
  jobsPerSec: number;
  serverUs: number;
  commands: number;
  evalsha: number;
  nodeUs: number;
  load: number;
}
const results = new Map<string, Figures[]>();

async function measure(side: string, count: number, keep: boolean, work: () => Promise<void>): Promise<void> {
  const node0 = process.cpuUsage();
  const cost = await serverCost(count, work);
  const node1 = process.cpuUsage(node0);
  let commands = 0;
  for (const name of cost.names) if (name !== 'info') commands += cost.delta(name).calls;
  const f: Figures = {
    jobsPerSec: count / (cost.ms / 1000),
    serverUs: (cost.serverCpuSeconds * 1e6) / count,
    commands,
    evalsha: cost.delta('evalsha').calls,
    nodeUs: (node1.user + node1.system) / count,
    load: loadavg()[0]!,
  };
  if (keep) results.set(side, [...(results.get(side) ?? []), f]);
  if (process.env.NE_TOP) {
    for (const r of topCommands(cost, Number(process.env.NE_TOP), 'calls'))
      console.log(`  ${r.name.padEnd(18)} ${r.calls.toFixed(2).padStart(6)}/job`);
  }
  console.log(
    `${side.padEnd(8)} ${f.jobsPerSec.toFixed(0).padStart(6)} jobs/s  server CPU ${f.serverUs.toFixed(0).padStart(4)} µs/job  ` +
      `commands ${f.commands.toFixed(1)}/job  EVALSHA ${f.evalsha.toFixed(2)}/job  node CPU ${f.nodeUs.toFixed(0)} µs/job  ` +
      `load ${f.load.toFixed(2)}${keep ? '' : '  (warm-up)'}`,
  );
}

async function raw(count: number, keep: boolean): Promise<void> {
  const done = countdown(count);
  const bull = await startRawBullmq({ concurrency: CONCURRENCY, process: async () => done.hit() });
  try {
    await measure('bullmq', count, keep, async () => {
      await pool(count, WINDOW, new AbortController().signal, (i) => bull.add({ i }));
      await done.done;
    });
  } finally {
    await bull.close();
  }
}

/** `app.managedQueue` on today's engine (`records`) or the native one, as the bench case runs it. */
async function managed(side: 'records' | 'native' | 'native-t', count: number, keep: boolean): Promise<void> {
  const done = countdown(count);
  const tenant = side === 'native-t' ? { tenantId: 't1' } : {};
  const node = await startNode(benchCluster('redis', { jobEngine: side === 'records' ? 'records' : 'native' }), async (app) => {
    await app.managedQueue.process({ ...JOB, concurrency: CONCURRENCY }, async () => done.hit());
  });
  try {
    await measure(side, count, keep, async () => {
      await pool(count, WINDOW, new AbortController().signal, (i) =>
        node.app.managedQueue.enqueue({ ...JOB, ...tenant, payload: { i } }),
      );
      await done.done;
    });
  } finally {
    await node.dispose();
  }
}

function run(side: string, count: number, keep: boolean): Promise<void> {
  if (side === 'bullmq') return raw(count, keep);
  if (side === 'records' || side === 'native' || side === 'native-t') return managed(side, count, keep);
  throw new Error(`NE_SIDES: unknown side ${side} (bullmq, records, native, native-t)`);
}

const median = (xs: number[]) => quantile(xs, 0.5);

function summary(): void {
  const base = results.get('bullmq') ?? [];
  const loads = [...results.values()].flat().map((f) => f.load);
  console.log(
    `\nmedians over ${base.length} rounds, ${jobs} jobs each; load ${Math.min(...loads).toFixed(1)}–${Math.max(...loads).toFixed(1)}`,
  );
  const names = [...results.keys()];
  console.log(`| per job | ${names.join(' | ')} |`);
  const rows: [string, keyof Figures, number][] = [
    ['jobs/s', 'jobsPerSec', 0],
    ['server CPU µs', 'serverUs', 0],
    ['commands (incl. in scripts)', 'commands', 1],
    ['EVALSHA calls', 'evalsha', 2],
    ['node CPU µs', 'nodeUs', 0],
  ];
  for (const [label, key, digits] of rows) {
    console.log(
      `| ${label} | ${names.map((n) => median(results.get(n)!.map((f) => f[key])).toFixed(digits)).join(' | ')} |`,
    );
  }
  for (const [side, fs] of results) {
    if (side === 'bullmq') continue;
    const pair = (key: keyof Figures) => fs.map((f, i) => f[key] / (base[i]?.[key] ?? Number.NaN));
    const tput = pair('jobsPerSec');
    const cpu = pair('serverUs');
    const node = pair('nodeUs');
    console.log(
      `${side}/raw paired per round: throughput ${median(tput).toFixed(2)}× (${tput.map((r) => r.toFixed(2)).join(' ')}; ≥ 0.9× in ${tput.filter((r) => r >= 0.9).length} of ${tput.length}), ` +
        `server CPU ${median(cpu).toFixed(2)}× (${cpu.map((r) => r.toFixed(2)).join(' ')}; ≤ 1.3× in ${cpu.filter((r) => r <= 1.3).length}), node CPU ${median(node).toFixed(2)}×`,
    );
  }
}

// A tsup bundle of the working tree, as the bench runs clusterkit (not tsx-transpiled sources).
console.log(`clusterkit: ${await prepareClusterkit('worktree')}`);
const warm = Math.ceil(jobs / 5);
for (const side of sides) await run(side, warm, false);
for (let r = 0; r < rounds; r += 1) {
  // Rotate the order: the side right after another runs on its leftovers (lazy frees, allocator).
  for (let k = 0; k < sides.length; k += 1) await run(sides[(k + r) % sides.length]!, jobs, true);
}
summary();
process.exit(0);
