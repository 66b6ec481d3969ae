/**
 * Head-of-line probe (engineering tool, not a bench case): runs the head-of-line scenario once on
 * the Redis at REDIS_URL (use a private redis-server) and reports where plugin B's wait goes — the
 * enqueue call, the time until the dispatcher saw B's ticket, the claim — plus the Redis commands
 * per A ticket from INFO commandstats (load-independent).
 *
 *   REDIS_URL=redis://127.0.0.1:64xx npx tsx bench/tools/hol-probe.ts [memory|redis] [runs]
 *
 * HOL_VARIANTS (comma-separated, alternated in one process): `base` (the code as it is), `nogate`
 * (no park-turn limit: the behaviour before park-gate.ts), `gate<N>` (N turns), `wc<N>` (N physical
 * slots), `nobacklog` (no A jobs), `nopark` (parks write nothing — unsafe, measurement only),
 * `psem<N>` (park writes limited by a semaphore), `parkconn` (park script on its own connection);
 * any name ending in `alone` or `nb` runs without A's backlog, one containing `warm` runs one job of
 * B through the node first (to compare two trees, run each tree's copy of this file, alternating). Per run it prints each stage's p50/p99 and the
 * timeline of B's fastest, 10th, 11th, 12th, 30th, 50th, 90th and last job (ms from the first enqueue call).
 * HOL_QUIET=1 prints only the per-variant medians; HOL_DRAIN=1 also counts commands per A job over
 * the whole run (waits for A's backlog to finish); HOL_BACKLOG sets A's backlog (default 1,000).
 */
import { createApp, silentLogger, type App } from 'clusterkit';
import { createRedisAdapters } from 'clusterkit/redis';
import { Redis } from 'ioredis';
import { JOB_PARK } from '../../adapters/redis/lua/job-admin-scripts.js';
import { runScript } from '../../adapters/redis/lua/run-script.js';
import { ParkGate } from '../../src/jobs/park-gate.js';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const backend = (process.argv[2] ?? 'redis') as 'memory' | 'redis';
const runs = Number(process.argv[3] ?? 1);
let BACKLOG = Number(process.env.HOL_BACKLOG ?? 1_000);
const OTHERS = 100;
const A = { pluginName: 'plugin-a', queueName: 'slow', jobName: 'work' } as const;
const B = { pluginName: 'plugin-b', queueName: 'fast', jobName: 'work' } as const;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
};
const fmt = (xs: number[]) =>
  `p50 ${pct(xs, 50).toFixed(1)} p99 ${pct(xs, 99).toFixed(1)} max ${Math.max(...xs).toFixed(1)}`;

async function commandStats(admin: Redis): Promise<Map<string, number>> {
  const text = await admin.info('commandstats');
  const out = new Map<string, number>();
  for (const m of text.matchAll(/cmdstat_([^:]+):calls=(\d+),usec=(\d+)/g)) {
    out.set(m[1]!, Number(m[2]));
    out.set(`usec:${m[1]}`, Number(m[3]));
  }
  const cpu = await admin.info('cpu');
  const user = Number(/used_cpu_user:([\d.]+)/.exec(cpu)?.[1]);
  const sys = Number(/used_cpu_sys:([\d.]+)/.exec(cpu)?.[1]);
  out.set('cpu-us', Math.round((user + sys) * 1e6));
  return out;
}
function delta(a: Map<string, number>, b: Map<string, number>, per: number): string {
  const parts: string[] = [];
  let total = 0;
  let usec = 0;
  for (const [k, v] of b) {
    const d = v - (a.get(k) ?? 0);
    if (k.startsWith('usec:')) {
      if (k !== 'usec:info') usec += d;
      continue;
    }
    if (k === 'cpu-us') continue;
    if (d > 0 && k !== 'info') {
      parts.push(`${k} ${(d / per).toFixed(2)}`);
      total += d;
    }
  }
  const cpu = (b.get('cpu-us') ?? 0) - (a.get('cpu-us') ?? 0);
  return `server cpu ${(cpu / per).toFixed(0)} us, cmd usec ${(usec / per).toFixed(0)}, cmds ${(total / per).toFixed(2)} (${parts.join(', ')})`;
}

const summary = new Map<string, number[][]>();
const drained = new Map<string, number[][]>();
let variant = 'base';
async function once(admin: Redis | undefined): Promise<void> {
  const name = `hol-${Math.random().toString(36).slice(2, 8)}`;
  const app: App = createApp({
    name,
    logger: silentLogger,
    adapters: backend === 'redis' ? createRedisAdapters({ url: REDIS_URL, prefix: name }) : {},
    stopGracePeriodMs: 2_000,
    ...(variant.startsWith('wc') ? { managedQueue: { workerConcurrency: Number(variant.slice(2)) } } : {}),
  });
  const sentAt = new Float64Array(OTHERS);
  const enqDone = new Float64Array(OTHERS);
  const started = new Float64Array(OTHERS);
  const claimAt = new Map<string, [number, number]>();
  let bDone = 0;
  let aRan = 0;
  let resolveB!: () => void;
  const allB = new Promise<void>((r) => (resolveB = r));
  await app.managedQueue.process({ ...A, concurrency: 1 }, async () => {
    aRan += 1;
    await sleep(2);
  });
  await app.managedQueue.process({ ...B, concurrency: 10 }, async (job) => {
    const i = (job.data as { i: number }).i;
    started[i] = performance.now();
    bDone += 1;
    if (bDone === OTHERS) resolveB();
  });
  const deliveredAt = new Map<string, number>();
  const dispatcher = (
    app.managedQueue as unknown as { jobs: { dispatcher: { deliver: (m: unknown, c: unknown) => Promise<void> } } }
  ).jobs.dispatcher;
  const deliver = dispatcher.deliver;
  if (variant === 'nogate') (dispatcher as unknown as { parkGate: ParkGate }).parkGate = new ParkGate(1e9);
  if (variant.startsWith('gate'))
    (dispatcher as unknown as { parkGate: ParkGate }).parkGate = new ParkGate(parseInt(variant.slice(4), 10));
  const deliverEnd = new Map<string, number>();
  dispatcher.deliver = (m, c) => {
    const id = (m as { jobId?: string }).jobId;
    if (id && !deliveredAt.has(id)) deliveredAt.set(id, performance.now());
    return deliver(m, c).finally(() => id && deliverEnd.set(id, performance.now()));
  };
  await app.start();
  const store = app.managedQueue.jobStore as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>;
  if (variant === 'nopark') store.park = async () => true;
  if (variant.startsWith('psem')) {
    const limit = Number(variant.slice(4));
    const park = store.park!.bind(store);
    let inFlight = 0;
    const waiters: (() => void)[] = [];
    store.park = async (...args: unknown[]) => {
      while (inFlight >= limit) await new Promise<void>((r) => waiters.push(r));
      inFlight += 1;
      try {
        return await park(...args);
      } finally {
        inFlight -= 1;
        waiters.shift()?.();
      }
    };
  }
  let parkClient: Redis | undefined;
  if (variant === 'parkconn' && backend === 'redis') {
    const client = new Redis(REDIS_URL);
    parkClient = client;
    const p = (store as unknown as { p: string }).p;
    store.park = async (ref: unknown, nodeId: unknown, now: unknown) => {
      const r = ref as { id: string; nonce: string; gen: number };
      return (
        Number(
          await runScript(
            client,
            JOB_PARK,
            [`${p}J:${r.id}`],
            [p, r.id, r.nonce, r.gen, nodeId as string, now as number],
          ),
        ) === 1
      );
    };
  }
  const claim = store.claim!.bind(store);
  store.claim = async (ref: unknown, req: unknown) => {
    const t0 = performance.now();
    const r = await claim(ref, req);
    claimAt.set((ref as { id: string }).id, [t0, performance.now()]);
    return r;
  };
  const parkAt = new Map<string, [number, number]>();
  const park = store.park!.bind(store);
  store.park = async (...args: unknown[]) => {
    const t0 = performance.now();
    try {
      return await park(...args);
    } finally {
      parkAt.set((args[0] as { id: string }).id, [t0, performance.now()]);
    }
  };
  const finishAt = new Map<string, [number, number]>();
  const finish = store.finish!.bind(store);
  store.finish = async (...args: unknown[]) => {
    const t0 = performance.now();
    try {
      return await finish(...args);
    } finally {
      finishAt.set((args[0] as { id: string }).id, [t0, performance.now()]);
    }
  };
  if (variant.includes('warm')) {
    // One job of each kind through the node first: connections, scripts and lazy set-up are done.
    await app.managedQueue.waitForJob(
      (await app.managedQueue.enqueue({ ...B, payload: { i: OTHERS - 1 } })).jobId,
      { timeoutMs: 10_000 },
    );
    bDone = 0;
  }
  const before = admin ? await commandStats(admin) : undefined;
  const t0 = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: 200 }, async () => {
      while (next < BACKLOG) {
        const i = next++;
        await app.managedQueue.enqueue({ ...A, payload: { i } });
      }
    }),
  );
  const aEnqueued = performance.now();
  const mid = admin ? await commandStats(admin) : undefined;
  const cpu0 = process.cpuUsage();
  const ids: string[] = [];
  await Promise.all(
    Array.from({ length: OTHERS }, async (_, i) => {
      sentAt[i] = performance.now();
      ids[i] = (await app.managedQueue.enqueue({ ...B, payload: { i } })).jobId;
      enqDone[i] = performance.now();
    }),
  );
  await allB;
  const end = performance.now();
  if (process.env.HOL_DRAIN && admin && before) {
    while (aRan < BACKLOG) await sleep(20);
    await sleep(200); // the last finish's writes
    const all = await commandStats(admin);
    console.log(`  [${variant}] whole run per A job (incl. ${OTHERS} B): ${delta(before, all, BACKLOG)}`);
    const es = /evalsha (\d+\.\d+)/.exec(delta(before, all, BACKLOG))?.[1];
    const tot = /cmds (\d+\.\d+)/.exec(delta(before, all, BACKLOG))?.[1];
    const cpuUs = /server cpu (\d+) us/.exec(delta(before, all, BACKLOG))?.[1];
    const row = drained.get(variant) ?? [];
    row.push([Number(es), Number(tot), Number(cpuUs)]);
    drained.set(variant, row);
  }
  const cpu = process.cpuUsage(cpu0);
  const waits = Array.from(started, (s, i) => s - sentAt[i]!);
  const enq = Array.from(enqDone, (e, i) => e - sentAt[i]!);
  const toClaim = ids.map((id, i) => (claimAt.get(id)?.[0] ?? NaN) - enqDone[i]!);
  const toDeliver = ids.map((id, i) => (deliveredAt.get(id) ?? NaN) - enqDone[i]!);
  const deliverToClaim = ids.map((id) => (claimAt.get(id)?.[0] ?? NaN) - (deliveredAt.get(id) ?? NaN));
  const claimRt = ids.map((id) => (claimAt.get(id)?.[1] ?? NaN) - (claimAt.get(id)?.[0] ?? NaN));
  const afterClaim = ids.map((id, i) => started[i]! - (claimAt.get(id)?.[1] ?? NaN));
  const row = summary.get(variant) ?? [];
  row.push([pct(waits, 50), pct(waits, 99), (cpu.user + cpu.system) / 1000, end - aEnqueued]);
  summary.set(variant, row);
  if (process.env.HOL_QUIET) {
    await app.stop();
    parkClient?.disconnect();
    await cleanup(admin, name);
    return;
  }
  console.log(
    `[${backend}/${variant}] A enqueue ${(aEnqueued - t0).toFixed(0)} ms; B phase ${(end - aEnqueued).toFixed(0)} ms (node cpu ${((cpu.user + cpu.system) / 1000).toFixed(0)} ms); A ran ${aRan}`,
  );
  console.log(`  B wait        ${fmt(waits)}`);
  console.log(`  B enqueue     ${fmt(enq)}`);
  console.log(`  enq→claim     ${fmt(toClaim)}`);
  console.log(`  enq→deliver   ${fmt(toDeliver)}`);
  console.log(`  deliver→claim ${fmt(deliverToClaim)}`);
  console.log(`  claim rt      ${fmt(claimRt)}`);
  console.log(`  claim→start   ${fmt(afterClaim)}`);
  const fin = ids.map((id) => (finishAt.get(id)?.[1] ?? NaN) - (finishAt.get(id)?.[0] ?? NaN));
  const startToFinish = ids.map((id, i) => (finishAt.get(id)?.[0] ?? NaN) - started[i]!);
  const parked = ids.filter((id) => parkAt.has(id));
  console.log(`  start→finish  ${fmt(startToFinish)}`);
  console.log(`  finish rt     ${fmt(fin)}`);
  console.log(`  parked ${parked.length}; park rt ${fmt(parked.map((id) => parkAt.get(id)![1] - parkAt.get(id)![0]))}`);
  const tl = (i: number) => {
    const id = ids[i]!;
    const r = (t: number | undefined) => (t === undefined ? '-' : (t - sentAt[0]!).toFixed(1));
    return `enq ${r(sentAt[i])}/${r(enqDone[i])} dlv ${r(deliveredAt.get(id))} park ${r(parkAt.get(id)?.[0])}/${r(parkAt.get(id)?.[1])} dlvEnd ${r(deliverEnd.get(id))} claim ${r(claimAt.get(id)?.[0])}/${r(claimAt.get(id)?.[1])} start ${r(started[i])} fin ${r(finishAt.get(id)?.[0])}/${r(finishAt.get(id)?.[1])}`;
  };
  const order = waits.map((w, i) => [w, i] as const).sort((a, b) => a[0] - b[0]);
  for (const k of [0, 9, 10, 11, 30, 50, 90, 99]) console.log(`  #${k} job ${order[k]![1]}: ${tl(order[k]![1])}`);
  if (admin && before && mid) {
    const after = await commandStats(admin);
    console.log(`  cmds/A job during A enqueue: ${delta(before, mid, BACKLOG)}`);
    console.log(`  cmds/B job in B phase (incl. A parking meanwhile): ${delta(mid, after, OTHERS)}`);
  }
  await app.stop();
  parkClient?.disconnect();
  await cleanup(admin, name);
}

async function cleanup(admin: Redis | undefined, name: string): Promise<void> {
  if (admin) {
    let cursor = '0';
    do {
      const [c, keys] = await admin.scan(cursor, 'MATCH', `${name}*`, 'COUNT', 1000);
      cursor = c;
      if (keys.length) await admin.del(...keys);
    } while (cursor !== '0');
  }
}

const admin = backend === 'redis' ? new Redis(REDIS_URL) : undefined;
const variants = (process.env.HOL_VARIANTS ?? 'base').split(',');
for (let r = 0; r < runs; r += 1) {
  for (const v of variants) {
    variant = v;
    BACKLOG = v.includes('nobacklog') || v.endsWith('nb') || v.endsWith('alone') ? 0 : Number(process.env.HOL_BACKLOG ?? 1_000);
    await once(admin);
  }
}
const med = (xs: number[]) => pct(xs, 50);
for (const [v, rows] of drained) {
  console.log(
    `${v}: per A job over the whole run: evalsha ${med(rows.map((r) => r[0]!))}, commands ${med(rows.map((r) => r[1]!))}, server cpu ${med(rows.map((r) => r[2]!))} us`,
  );
}
for (const [v, rows] of summary) {
  console.log(
    `${v}: runs ${rows.length}; median of B p50 ${med(rows.map((r) => r[0]!)).toFixed(1)}, of B p99 ${med(rows.map((r) => r[1]!)).toFixed(1)}; ` +
      `node cpu in B phase ${med(rows.map((r) => r[2]!)).toFixed(0)} ms, B phase ${med(rows.map((r) => r[3]!)).toFixed(0)} ms; ` +
      `p99s ${rows.map((r) => r[1]!.toFixed(0)).join(' ')}`,
  );
}
admin?.disconnect();
