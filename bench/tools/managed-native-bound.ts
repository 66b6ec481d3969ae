/**
 * What the "managed job = BullMQ job" proposal (docs/performance.md, "managedQueue throughput") would
 * cost, measured before the job layer is rewritten: raw BullMQ as the bench case runs it against a
 * model of native managed jobs (`managed-native-lua.ts`: BullMQ's add, fetch and ack wrapped with
 * the record's extra work in the same script calls), on a PRIVATE redis-server (REDIS_URL). Sides
 * alternate in one process (the side that goes first swaps each round); per side and round: jobs/s,
 * Redis server CPU µs per job (`INFO cpu` delta), EVALSHA calls and all commands per job (`INFO
 * commandstats`, commands inside scripts included), this process's CPU µs per job (both sides'
 * clients run here); medians at the end with the ratios to raw BullMQ, and the load average.
 *
 *   REDIS_URL=redis://127.0.0.1:6452 npx tsx bench/tools/managed-native-bound.ts [jobs] [rounds]
 *
 * Defaults: 10,000 jobs, 200 enqueues in flight, worker concurrency 32, 5 rounds after a warm-up.
 * NM_KEEP=all|1000: completed managed jobs kept (default all, as records are kept for
 * `completedRetentionMs`); raw BullMQ keeps 1,000, as in the case. NM_SIDES (default
 * `native,native3`): the model sides to run — `native` (one handler: one queue, one worker of
 * concurrency 32, every wrapped script), `native3` (three handlers on three queues, one worker each,
 * concurrency 32 split), and for attributing the cost: `bare` (nonce ids and retention as `native`,
 * no script wrapped), `addonly` (only the add wrapped), `genid` (as `native` but BullMQ generates the
 * ids; the nonce is only a field), `baregen` (as `bare` with generated ids) and `lean` (generated ids,
 * only tenant and nonce written at the add, history closed with one `HSET`, no tenant re-score).
 * NM_TENANTS=n (default 4) tenants, round-robin. NM_CHECK=1 prints one completed native job's hash
 * and the tenant index sizes after each native run; NM_TOP=n the n most called commands per run. NM_SLOWLOG=1
 * logs every command in the server's SLOWLOG (threshold 0, inflates every figure) and reports the
 * mean µs per call of each BullMQ script (add, `moveToActive`, `moveToFinished`) per side.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { loadavg } from 'node:os';
import { Job, Queue, Worker, type JobsOptions } from 'bullmq';
import { startRawBullmq } from '../lib/raw-bullmq.js';
import { serverCost, topCommands } from '../lib/redis-costs.js';
import { quantile } from '../lib/stats.js';
import { deleteRedisPrefix, randomName, redisClient } from '../lib/services.js';
import { countdown, pool } from '../lib/waiting.js';
import { nativeAdder, wrapWorkerScripts } from './managed-native-lua.js';

const CONCURRENCY = 32;
const WINDOW = 200;
const jobs = Number(process.argv[2] ?? 10_000);
const rounds = Number(process.argv[3] ?? 5);
const keepAll = (process.env.NM_KEEP ?? 'all') === 'all';
/** A model side: how many handlers (queues, workers) and which scripts are wrapped. */
interface Variant {
  readonly name: string;
  readonly handlers: number;
  readonly wrapAdd: boolean;
  readonly wrapWorker: boolean;
  /** false: BullMQ generates the id (the nonce only as a field), instead of `<uuid>|<nonce>`. */
  readonly nonceId: boolean;
  /** The trimmed record steps (`managed-native-lua.ts`). */
  readonly lean?: boolean;
}
const VARIANTS: Record<string, Variant> = {
  native: { name: 'native', handlers: 1, wrapAdd: true, wrapWorker: true, nonceId: true },
  native3: { name: 'native3', handlers: 3, wrapAdd: true, wrapWorker: true, nonceId: true },
  genid: { name: 'genid', handlers: 1, wrapAdd: true, wrapWorker: true, nonceId: false },
  bare: { name: 'bare', handlers: 1, wrapAdd: false, wrapWorker: false, nonceId: true },
  baregen: { name: 'baregen', handlers: 1, wrapAdd: false, wrapWorker: false, nonceId: false },
  lean: { name: 'lean', handlers: 1, wrapAdd: true, wrapWorker: true, nonceId: false, lean: true },
  addonly: { name: 'addonly', handlers: 1, wrapAdd: true, wrapWorker: false, nonceId: true },
};
const variants = (process.env.NM_SIDES ?? 'native,native3').split(',').map((v) => {
  const variant = VARIANTS[v];
  if (!variant) throw new Error(`NM_SIDES: unknown side ${v} (${Object.keys(VARIANTS).join(', ')})`);
  return variant;
});
const tenants = Number(process.env.NM_TENANTS ?? 4);
const JOB = { pluginName: 'bench', queueName: 'work', jobName: 'noop' } as const;

/** One side's figures per job for one run. */
interface Figures {
  jobsPerSec: number;
  serverUs: number;
  evalshaCalls: number;
  evalshaUs: number;
  commands: number;
  nodeUs: number;
  load: number;
}

const results = new Map<string, Figures[]>();

/** BullMQ's scripts told apart by their key count: 9 add, 11 `moveToActive`, 14 `moveToFinished`. */
const SCRIPT_BY_KEYS: Record<string, string> = { '9': 'add', '11': 'moveToActive', '14': 'moveToFinished' };
/** Per side and script: the mean SLOWLOG µs per call of each round (NM_SLOWLOG=1). */
const perScript = new Map<string, number[]>();

/** NM_SLOWLOG=1: every command into the private server's SLOWLOG during `work`; mean µs per script call. */
async function slowlogged(side: string, work: () => Promise<void>): Promise<void> {
  const client = redisClient();
  await client.config('SET', 'slowlog-log-slower-than', '0');
  await client.config('SET', 'slowlog-max-len', '1000000');
  await client.slowlog('RESET');
  await work();
  const entries = (await client.slowlog('GET', -1)) as [number, number, number, string[]][];
  await client.config('SET', 'slowlog-log-slower-than', '10000');
  await client.slowlog('RESET');
  client.disconnect();
  const sums = new Map<string, { us: number; n: number }>();
  for (const [, , us, args] of entries) {
    const kind = args[0]?.toLowerCase() === 'evalsha' ? SCRIPT_BY_KEYS[args[2] ?? ''] : undefined;
    if (!kind) continue;
    const sum = sums.get(kind) ?? { us: 0, n: 0 };
    sums.set(kind, { us: sum.us + us, n: sum.n + 1 });
  }
  for (const [kind, { us, n }] of sums) {
    const key = `${side} ${kind}`;
    perScript.set(key, [...(perScript.get(key) ?? []), us / n]);
  }
}

async function measure(side: string, count: number, work: () => Promise<void>, keep = true): Promise<void> {
  const node0 = process.cpuUsage();
  const cost = await serverCost(count, process.env.NM_SLOWLOG && keep ? () => slowlogged(side, work) : work);
  const node1 = process.cpuUsage(node0);
  let commands = 0;
  for (const name of cost.names) if (name !== 'info') commands += cost.delta(name).calls;
  const ev = cost.delta('evalsha');
  const f: Figures = {
    jobsPerSec: count / (cost.ms / 1000),
    serverUs: (cost.serverCpuSeconds * 1e6) / count,
    evalshaCalls: ev.calls,
    evalshaUs: ev.usec,
    commands,
    nodeUs: (node1.user + node1.system) / count,
    load: loadavg()[0]!,
  };
  if (keep) results.set(side, [...(results.get(side) ?? []), f]);
  if (process.env.NM_TOP) {
    for (const r of topCommands(cost, Number(process.env.NM_TOP), 'calls'))
      console.log(`  ${r.name.padEnd(18)} ${r.calls.toFixed(2).padStart(6)}/job`);
  }
  console.log(
    `${side.padEnd(12)} ${f.jobsPerSec.toFixed(0).padStart(6)} jobs/s  server CPU ${f.serverUs.toFixed(0).padStart(4)} µs/job  ` +
      `EVALSHA ${f.evalshaCalls.toFixed(2)}/job ${f.evalshaUs.toFixed(0)} µs/job  commands ${f.commands.toFixed(1)}/job  ` +
      `node CPU ${f.nodeUs.toFixed(0)} µs/job  load ${f.load.toFixed(2)}${keep ? '' : '  (warm-up)'}`,
  );
}

/** Raw BullMQ exactly as `bench/cases/managed-queue-throughput.ts` runs it. */
async function raw(count: number, keep: boolean): Promise<void> {
  const done = countdown(count);
  const bull = await startRawBullmq({ concurrency: CONCURRENCY, process: async () => done.hit() });
  try {
    await measure(
      'bullmq',
      count,
      async () => {
        await pool(count, WINDOW, new AbortController().signal, (i) => bull.add({ i }));
        await done.done;
      },
      keep,
    );
  } finally {
    await bull.close();
  }
}

/** The native model: `handlers` (plugin, queue) BullMQ queues, one worker each, concurrency 32 split. */
async function native(count: number, variant: Variant, keep: boolean): Promise<void> {
  const { handlers } = variant;
  const done = countdown(count);
  const prefix = randomName('native');
  const queueConnection = redisClient();
  const connections = [queueConnection];
  const owner = randomBytes(6).toString('hex');
  const names = Array.from(
    { length: handlers },
    (_, h) => `${JOB.pluginName}.${JOB.queueName}${handlers > 1 ? h : ''}`,
  );
  const queues = names.map((name) => new Queue(name, { connection: queueConnection, prefix }));
  const workers = names.map((name, h) => {
    const connection = redisClient();
    connections.push(connection);
    const concurrency = Math.floor(CONCURRENCY / handlers) + (h < CONCURRENCY % handlers ? 1 : 0);
    const worker = new Worker(name, async () => done.hit(), { connection, prefix, concurrency, autorun: false });
    worker.on('error', (error) => console.error('worker error', error));
    return { worker, connection };
  });
  await Promise.all(queues.map((q) => q.waitUntilReady()));
  for (const { worker, connection } of workers) {
    await worker.waitUntilReady();
    if (variant.wrapWorker) wrapWorkerScripts(connection, owner, variant.lean);
    void worker.run();
  }
  const commands = queueConnection as unknown as Record<string, (args: unknown[]) => Promise<unknown>>;
  const through = variant.wrapAdd
    ? nativeAdder(queueConnection, variant.lean)
    : () => ({ runCommand: (name: string, args: unknown[]) => commands[name]!(args) });
  const opts: JobsOptions = {
    removeOnComplete: keepAll ? false : { count: 1000 },
    removeOnFail: { count: 100_000 },
  };
  type AddClient = Parameters<Job['addJob']>[0];
  try {
    await measure(
      variant.name,
      count,
      async () => {
        await pool(count, WINDOW, new AbortController().signal, async (i) => {
          const h = i % handlers;
          const nonce = randomBytes(6).toString('hex');
          const id = variant.nonceId ? `${randomUUID()}|${nonce}` : undefined;
          const job = new Job(queues[h]!, JOB.jobName, { i }, opts, id);
          await job.addJob(
            through([
              `t${i % tenants}`,
              JOB.pluginName,
              names[h]!,
              JOB.jobName,
              nonce,
              Date.now(),
            ]) as unknown as AddClient,
          );
        });
        await done.done;
      },
      keep,
    );
    if (process.env.NM_CHECK) await check(queues[0]!, queueConnection, prefix);
  } finally {
    await Promise.all(workers.map(({ worker }) => worker.close().catch(() => undefined)));
    await Promise.all(queues.map((q) => q.close().catch(() => undefined)));
    await deleteRedisPrefix(prefix, queueConnection).catch(() => undefined);
    await Promise.all(connections.map((c) => c.quit().catch(() => c.disconnect())));
  }
}

/** NM_CHECK=1: prints one completed job's hash and the per-tenant index sizes (that the model wrote what it claims). */
async function check(queue: Queue, client: ReturnType<typeof redisClient>, prefix: string): Promise<void> {
  const [id] = await queue.getCompleted(0, 0);
  console.log('completed job', id?.id, await client.hgetall(`${prefix}:${queue.name}:${id?.id}`));
  for (let t = 0; t < tenants; t += 1)
    console.log(`tenant t${t}`, await client.zcard(`${prefix}:${queue.name}:nm:t:t${t}`));
}

const median = (xs: number[]) => quantile(xs, 0.5);

function summary(): void {
  const base = results.get('bullmq') ?? [];
  const b = (k: keyof Figures) => median(base.map((f) => f[k]));
  console.log(
    `\nmedians over ${base.length} rounds, ${jobs} jobs each; native keeps ${keepAll ? 'all' : '1,000'} completed, raw 1,000; ` +
      `load ${Math.min(...base.map((f) => f.load)).toFixed(1)}–${Math.max(...base.map((f) => f.load)).toFixed(1)}`,
  );
  console.log(
    '| per job | ' +
      [...results.keys()].join(' | ') +
      ' | ' +
      [...results.keys()]
        .filter((s) => s !== 'bullmq')
        .map((s) => `${s}/raw`)
        .join(' | ') +
      ' |',
  );
  const rows: [string, keyof Figures, number][] = [
    ['jobs/s', 'jobsPerSec', 0],
    ['server CPU µs', 'serverUs', 0],
    ['EVALSHA calls', 'evalshaCalls', 2],
    ['EVALSHA server µs', 'evalshaUs', 0],
    ['commands (incl. in scripts)', 'commands', 1],
    ['node CPU µs', 'nodeUs', 0],
  ];
  for (const [label, key, digits] of rows) {
    const cells = [...results.values()].map((fs) => median(fs.map((f) => f[key])).toFixed(digits));
    const ratios = [...results.entries()]
      .filter(([s]) => s !== 'bullmq')
      .map(([, fs]) => `${(median(fs.map((f) => f[key])) / b(key)).toFixed(2)}×`);
    console.log(`| ${label} | ${cells.join(' | ')} | ${ratios.join(' | ')} |`);
  }
  for (const [key, means] of perScript)
    console.log(`SLOWLOG ${key}: median of round means ${median(means).toFixed(1)} µs per call`);
  // Paired: each round's ratio to the raw run of the same round (load drifts between rounds).
  for (const [side, fs] of results) {
    if (side === 'bullmq') continue;
    const pair = (key: keyof Figures) => fs.map((f, i) => f[key] / (base[i]?.[key] ?? Number.NaN));
    const tput = pair('jobsPerSec');
    const cpu = pair('serverUs');
    console.log(
      `${side}/raw paired per round: throughput median ${median(tput).toFixed(2)}× (≥ 0.9× in ${tput.filter((r) => r >= 0.9).length} of ${tput.length}), ` +
        `server CPU median ${median(cpu).toFixed(2)}× (≤ 1.3× in ${cpu.filter((r) => r <= 1.3).length} of ${cpu.length})`,
    );
  }
}

const warm = Math.ceil(jobs / 5);
await raw(warm, false);
for (const v of variants) await native(warm, v, false);
for (let r = 0; r < rounds; r += 1) {
  // The side right after another runs on its leftovers (lazy frees, allocator): raw goes first every
  // other round, and the model sides rotate.
  if (r % 2 === 0) await raw(jobs, true);
  for (let k = 0; k < variants.length; k += 1) await native(jobs, variants[(k + r) % variants.length]!, true);
  if (r % 2 === 1) await raw(jobs, true);
}
summary();
process.exit(0);
