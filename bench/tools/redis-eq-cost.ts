/**
 * Per-message cost of the Redis event queue, two clusterkit builds against raw BullMQ, alternating
 * in one process on a PRIVATE redis-server (REDIS_URL): per side and run, `INFO commandstats`
 * deltas (EVALSHA calls and µs, Lua-internal commands), the `INFO cpu` delta (server user+system)
 * and the `process.cpuUsage` delta (this process: publisher and consumer), all per message; medians
 * over the rounds at the end, and the medians of each round's ratio to raw BullMQ (the sides of one
 * round share the machine's load of the moment). The server's socket reads and writes per message
 * (`INFO stats`) are exact counts: what write batching changes.
 *
 *   REDIS_URL=redis://127.0.0.1:6410 npx tsx bench/tools/redis-eq-cost.ts <old.js> <new.js> [messages] [rounds] [concurrency]
 *
 * `old.js` / `new.js` are tsup bundles exporting `{ core, redis }` (see the bench's clusterkit
 * loader). Only meaningful while nothing else uses that server.
 */
import { pathToFileURL } from 'node:url';
import { startRawBullmq } from '../lib/raw-bullmq.js';
import { serverCost } from '../lib/redis-costs.js';
import { redisClient } from '../lib/services.js';
import { countdown, pool } from '../lib/waiting.js';
import { quantile } from '../lib/stats.js';
import { runBundleEventQueue, type Bundle } from './bundle-event-queue.js';

type Row = Record<string, number>;

const [oldFile, newFile] = process.argv.slice(2, 4) as [string, string];
const messages = Number(process.argv[4] ?? 5000);
const rounds = Number(process.argv[5] ?? 3);
const concurrency = Number(process.argv[6] ?? 10);
const WINDOW = 200;
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/** Runs `work` and returns its costs per message. */
async function measure(count: number, work: () => Promise<void>): Promise<Row> {
  const io0 = await serverIo();
  const own0 = process.cpuUsage();
  const cost = await serverCost(count, work);
  const own = process.cpuUsage(own0);
  const io1 = await serverIo();
  let inner = 0;
  let innerUs = 0;
  for (const name of cost.names) {
    if (['evalsha', 'eval', 'info', 'script|load', 'script', 'client|setname', 'client'].includes(name)) continue;
    inner += cost.delta(name).calls;
    innerUs += cost.delta(name).usec;
  }
  const ev = cost.delta('evalsha');
  return {
    'msg/s': count / (cost.ms / 1000),
    'EVALSHA/msg': ev.calls,
    'EVALSHA µs/msg': ev.usec,
    'other cmds/msg': inner,
    'other cmds µs/msg': innerUs,
    'server CPU µs/msg': (cost.serverCpuSeconds * 1e6) / count,
    'client CPU µs/msg': (own.user + own.system) / count,
    // Exact, unlike the times: the server's socket reads and reply writes (a batch of commands is one read).
    'server reads/msg': (io1.reads - io0.reads) / count,
    'server writes/msg': (io1.writes - io0.writes) / count,
  };
}

/** The server's `total_reads_processed` / `total_writes_processed` (`INFO stats`). */
async function serverIo(): Promise<{ reads: number; writes: number }> {
  const client = redisClient();
  try {
    const info = await client.info('stats');
    const field = (name: string) => Number(new RegExp(`^${name}:(\\d+)`, 'm').exec(info)?.[1] ?? NaN);
    return { reads: field('total_reads_processed'), writes: field('total_writes_processed') };
  } finally {
    client.disconnect();
  }
}

function clusterkit(bundle: Bundle, count: number): Promise<Row> {
  const run = { url: REDIS_URL, count, concurrency, window: WINDOW, tag: 'eqcost' };
  return runBundleEventQueue(bundle, run, (work) => measure(count, work));
}

async function bullmq(count: number): Promise<Row> {
  const done = countdown(count);
  const raw = await startRawBullmq({ concurrency, process: async () => done.hit() });
  try {
    return await measure(count, async () => {
      await pool(count, WINDOW, new AbortController().signal, (i) => raw.add({ i }));
      await done.done;
    });
  } finally {
    await raw.close();
  }
}

const load = async (file: string) => (await import(pathToFileURL(file).href)) as Bundle;
const sides: Array<[string, (n: number) => Promise<Row>]> = [
  [
    'old',
    (
      (b) => (n: number) =>
        clusterkit(b, n)
    )(await load(oldFile)),
  ],
  [
    'new',
    (
      (b) => (n: number) =>
        clusterkit(b, n)
    )(await load(newFile)),
  ],
  ['bullmq', bullmq],
];
const results = new Map<string, Row[]>(sides.map(([name]) => [name, []]));
// Warm-up of every side, uncounted.
for (const [, run] of sides) await run(Math.ceil(messages / 5));
for (let round = 0; round < rounds; round += 1) {
  const order = sides.map((_, i) => sides[(i + round) % sides.length]!);
  for (const [name, run] of order) {
    if (global.gc) global.gc();
    const row = await run(messages);
    results.get(name)!.push(row);
    console.log(
      `round ${round + 1} ${name.padEnd(7)} ` +
        Object.entries(row)
          .map(([k, v]) => `${k} ${v.toFixed(k.includes('/msg') && !k.includes('µs') ? 2 : 1)}`)
          .join('  '),
    );
  }
}
const median = (xs: number[]) => quantile(xs, 0.5);
console.log(`\nmedians over ${rounds} rounds, ${messages} messages, concurrency ${concurrency}`);
const keys = Object.keys(results.get('bullmq')![0]!);
console.log(`| per message | ${sides.map(([n]) => n).join(' | ')} |`);
for (const key of keys) {
  const cells = sides.map(([n]) => median(results.get(n)!.map((r) => r[key]!)));
  console.log(
    `| ${key} | ${cells.map((c) => c.toFixed(key.includes('/msg') && !key.includes('µs') ? 2 : 1)).join(' | ')} |`,
  );
}
// The load moves every side of a round together: the ratio to raw BullMQ within a round is steadier.
console.log(`\nmedian of the per-round ratios to raw BullMQ`);
console.log(`| per message | ${sides.map(([n]) => n).join(' | ')} |`);
for (const key of ['msg/s', 'server CPU µs/msg', 'client CPU µs/msg', 'server reads/msg']) {
  const ratio = (n: string) => median(results.get(n)!.map((r, i) => r[key]! / results.get('bullmq')![i]![key]!));
  console.log(`| ${key} | ${sides.map(([n]) => `${ratio(n).toFixed(2)}×`).join(' | ')} |`);
}
process.exit(0);
