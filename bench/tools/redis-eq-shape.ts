/**
 * What the stored job's shape costs raw BullMQ: raw BullMQ as the bench runs it (`{ i }` under a
 * short prefix), raw BullMQ with clusterkit's key layout (`<prefix>:q:{<app>%3A<channel>}:…`), the
 * same plus an envelope-sized `data`, and a clusterkit build — alternating in one process on a
 * PRIVATE redis-server (REDIS_URL), order rotated per round. Per side: msg/s, server CPU (`INFO cpu`),
 * EVALSHA µs (`INFO commandstats`) and client CPU (`process.cpuUsage`) per message; medians over the
 * rounds, and the medians of each round's ratio to the first side.
 *
 *   REDIS_URL=redis://127.0.0.1:6441 npx tsx bench/tools/redis-eq-shape.ts <clusterkit.js> [messages] [concurrency] [rounds]
 *
 * `clusterkit.js` is a tsup bundle exporting `{ core, redis }` (see `redis-eq-cost.ts`).
 */
import { pathToFileURL } from 'node:url';
import { Queue, Worker } from 'bullmq';
import { DEFAULT_JOB_OPTIONS } from '../lib/raw-bullmq.js';
import { serverCost } from '../lib/redis-costs.js';
import { deleteRedisPrefix, randomName, redisClient } from '../lib/services.js';
import { countdown, pool } from '../lib/waiting.js';
import { quantile } from '../lib/stats.js';
import { runBundleEventQueue, type Bundle } from './bundle-event-queue.js';

const bundleFile = process.argv[2] as string;
const messages = Number(process.argv[3] ?? 5000);
const concurrency = Number(process.argv[4] ?? 10);
const rounds = Number(process.argv[5] ?? 5);
const WINDOW = 200;
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/** msg/s, server CPU µs, EVALSHA µs and client CPU µs per message of one run. */
async function measure(work: () => Promise<void>): Promise<number[]> {
  const own0 = process.cpuUsage();
  const cost = await serverCost(messages, work);
  const own = process.cpuUsage(own0);
  return [
    messages / (cost.ms / 1000),
    (cost.serverCpuSeconds * 1e6) / messages,
    cost.delta('evalsha').usec,
    (own.user + own.system) / messages,
  ];
}

/** Raw BullMQ; `ckKeys`: under clusterkit's key layout; `envelope`: an envelope-sized body as data. */
async function raw(ckKeys: boolean, envelope: boolean): Promise<number[]> {
  const done = countdown(messages);
  const app = randomName('ckshape');
  const prefix = ckKeys ? `${app}:q` : randomName('b');
  const queueName = ckKeys ? `{${app}%3Abench}` : 'bench';
  const connections = [redisClient(), redisClient()];
  const queue = new Queue(queueName, { connection: connections[0]!, prefix });
  const worker = new Worker(queueName, async () => done.hit(), { connection: connections[1]!, prefix, concurrency });
  worker.on('error', () => undefined);
  await worker.waitUntilReady();
  await queue.waitUntilReady();
  // What clusterkit's envelope holds for `{ i }`: version, a generated id (UUID + counter), publishedAt.
  const data = (i: number) =>
    envelope
      ? { v: 1, id: `3f1c2a7e-1b2c-4d5e-8f90-123456789abc-${i.toString(36)}`, publishedAt: Date.now(), message: { i } }
      : { i };
  try {
    return await measure(async () => {
      await pool(messages, WINDOW, new AbortController().signal, (i) => queue.add('m', data(i), DEFAULT_JOB_OPTIONS));
      await done.done;
    });
  } finally {
    await worker.close().catch(() => undefined);
    await queue.close().catch(() => undefined);
    await deleteRedisPrefix(prefix, connections[0]).catch(() => undefined);
    await Promise.all(connections.map((c) => c.quit().catch(() => c.disconnect())));
  }
}

function clusterkit(bundle: Bundle): Promise<number[]> {
  const run = { url: REDIS_URL, count: messages, concurrency, window: WINDOW, tag: 'ckshape' };
  return runBundleEventQueue(bundle, run, measure);
}

const bundle = (await import(pathToFileURL(bundleFile).href)) as Bundle;
const sides: Array<[string, () => Promise<number[]>]> = [
  ['raw BullMQ', () => raw(false, false)],
  ["raw, clusterkit's keys", () => raw(true, false)],
  ['raw, keys + envelope', () => raw(true, true)],
  ['clusterkit', () => clusterkit(bundle)],
];
const results = new Map<string, number[][]>(sides.map(([name]) => [name, []]));
for (const [, run] of sides) await run(); // warm-up, uncounted
for (let round = 0; round < rounds; round += 1) {
  for (let i = 0; i < sides.length; i += 1) {
    const [name, run] = sides[(i + round) % sides.length]!;
    if (global.gc) global.gc();
    results.get(name)!.push(await run());
  }
}
const median = (xs: number[]) => quantile(xs, 0.5);
const base = results.get('raw BullMQ')!;
console.log(
  `medians over ${rounds} rounds, ${messages} messages, concurrency ${concurrency} (ratio to raw BullMQ per round)`,
);
console.log('| side | msg/s | server CPU µs/msg | EVALSHA µs/msg | client CPU µs/msg |');
for (const [name] of sides) {
  const rows = results.get(name)!;
  const cell = (j: number) =>
    `${median(rows.map((r) => r[j]!)).toFixed(1)} (${median(rows.map((r, i) => r[j]! / base[i]![j]!)).toFixed(2)}×)`;
  console.log(`| ${name} | ${cell(0)} | ${cell(1)} | ${cell(2)} | ${cell(3)} |`);
}
process.exit(0);
