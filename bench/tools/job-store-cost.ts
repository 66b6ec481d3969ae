/**
 * Redis server cost of each hot job-store transition on its own — create, claim, finish (completed,
 * kept) — on a PRIVATE redis-server (REDIS_URL): per transition, the `INFO commandstats` deltas
 * (EVALSHA server µs per call, commands run inside the scripts per call). No event queue, no
 * handler: what one transition's script costs the server, load-robust enough to compare two
 * versions of a script (run each several times; the medians count).
 *
 *   REDIS_URL=redis://127.0.0.1:6430 npx tsx bench/tools/job-store-cost.ts [jobs] [rounds]
 *
 * CK_PAYLOAD_BYTES=n pads each payload by n bytes.
 * CK_OLD=<dir>: a second tree's sources (e.g. `git archive main adapters src | tar -x -C <dir>`),
 * whose Redis adapters alternate with this tree's, round by round, in the same process.
 */
import { randomUUID } from 'node:crypto';
import type { JobRecord } from 'clusterkit/adapter-kit';
import { createRedisAdapters } from 'clusterkit/redis';
import { randomName, REDIS_URL, redisClient, redisServerCpuSeconds, deleteRedisPrefix } from '../lib/services.js';
import { commandStats } from '../lib/redis-costs.js';

const jobs = Number(process.argv[2] ?? 3000);
const rounds = Number(process.argv[3] ?? 3);
const WINDOW = 64;
/** CK_PAYLOAD_BYTES=n: each job's payload carries n more bytes. */
const PAD = process.env.CK_PAYLOAD_BYTES ? 'x'.repeat(Number(process.env.CK_PAYLOAD_BYTES)) : undefined;

function record(now: number, i: number): JobRecord {
  return {
    v: 1,
    id: randomUUID(),
    nonce: randomUUID().slice(0, 12),
    gen: 0,
    state: 'waiting',
    pluginName: 'bench',
    queueName: 'work',
    jobName: 'noop',
    payload: PAD === undefined ? { i } : { i, pad: PAD },
    priority: 2,
    maxAttempts: 1,
    attemptsMade: 0,
    attemptsStarted: 0,
    history: [],
    delayMs: 0,
    backoff: { type: 'fixed', delay: 0, maxDelay: 0, jitter: 0 },
    progress: 0,
    enqueuedAt: now,
    runAt: now,
    removeOnComplete: false,
    removeOnFail: false,
  };
}

async function phase(name: string, items: readonly JobRecord[], step: (r: JobRecord) => Promise<unknown>) {
  const client = redisClient();
  const before = await commandStats();
  const cpu0 = await redisServerCpuSeconds(client);
  for (let i = 0; i < items.length; i += WINDOW) await Promise.all(items.slice(i, i + WINDOW).map(step));
  const cpu1 = await redisServerCpuSeconds(client);
  const after = await commandStats();
  client.disconnect();
  const d = (cmd: string) => {
    const a = after.get(cmd) ?? { calls: 0, usec: 0 };
    const b = before.get(cmd) ?? { calls: 0, usec: 0 };
    return { calls: a.calls - b.calls, usec: a.usec - b.usec };
  };
  const ev = d('evalsha');
  let inner = 0;
  for (const cmd of after.keys()) if (cmd !== 'evalsha' && cmd !== 'info') inner += d(cmd).calls;
  const cpu = ((cpu1 - cpu0) * 1e6) / items.length;
  return `${name} ${(ev.usec / ev.calls).toFixed(1)} µs (cpu ${cpu.toFixed(0)}) ${(inner / ev.calls).toFixed(1)} cmds`;
}

type Factory = typeof createRedisAdapters;
const sides: [string, Factory][] = [['this', createRedisAdapters]];
if (process.env.CK_OLD) {
  const old = (await import(`${process.env.CK_OLD}/adapters/redis/index.ts`)) as { createRedisAdapters: Factory };
  sides.push(['old', old.createRedisAdapters]);
}

async function round(label: string, factory: Factory): Promise<void> {
  const prefix = randomName('jsc');
  const store = factory({ url: REDIS_URL, prefix }).jobStore!({ appName: prefix });
  await store.connect();
  try {
    const now = Date.now();
    const items = Array.from({ length: jobs }, (_, i) => record(now, i));
    const claimed = new Map<string, JobRecord>();
    const out = [
      await phase('create', items, (r) => store.create(r)),
      await phase('claim', items, async (r) => {
        const c = await store.claim(r, { nodeId: 'node-1', now: Date.now(), handler: 'bench:work:noop' });
        if (c.type !== 'claimed') throw new Error(`claim: ${c.type}`);
        claimed.set(r.id, c.record);
      }),
      await phase('finish', items, async (r) => {
        const next = structuredClone(claimed.get(r.id)!);
        next.state = 'completed';
        next.finishedAt = Date.now();
        next.attemptsMade += 1;
        delete next.owner;
        next.returnValue = null;
        const last = next.history.at(-1)!;
        last.finishedAt = next.finishedAt;
        last.outcome = 'completed';
        if (!(await store.finish(r, 'node-1', next, { remove: false, retentionMs: 60_000 }))) throw new Error('finish');
      }),
    ];
    console.log(`${label.padEnd(5)} ${out.join('  |  ')}`);
  } finally {
    await store.close();
    await deleteRedisPrefix(prefix);
  }
}

for (let r = 0; r < rounds; r += 1) for (const [label, factory] of sides) await round(label, factory);
process.exit(0);
