/**
 * Delayed-burst probe (engineering tool, not a bench case): runs the bench's burst scenario (1,000
 * messages, `delay: 100`, concurrency 50, a fresh node per run) repeatedly on the Redis at REDIS_URL
 * (use a private redis-server) and prints, per run, the earliest start − due and a timeline in ms
 * after the first message's due time: the publish calls, the waker's schedule/fire/marker reply/peek,
 * BullMQ's waitForJob (block timeout and result) and moveToActive calls, the first handler start, and
 * event-loop blocks ≥ 5 ms. The run's line also has the burst's wall time (first call to the last
 * add's reply), the client's and the Redis server's CPU over it, and when Redis executed the
 * waker's marker (server clock, from a `TIME` script sent right behind it on the same connection).
 *
 *   REDIS_URL=redis://127.0.0.1:64xx npx tsx bench/tools/delay-probe.ts [runs]
 *
 * PROBE_QUIET=1 prints only one line per run; PROBE_SETTLE=<ms> waits that long between the node's
 * start and the burst (default 200; the bench waits 0); PROBE_GC=1 runs a full GC before each run
 * (the bench harness does); PROBE_AB=gc,nogc alternates the two run by run; PROBE_BUNDLE=1 runs the
 * bench's build of the working tree instead of the sources. To compare two trees, run each tree's
 * copy of this file, alternating.
 */
import { Worker } from 'bullmq';
import { createApp, silentLogger } from 'clusterkit';
import { createRedisAdapters } from 'clusterkit/redis';
import { Redis } from 'ioredis';
import { DelayWaker } from '../../adapters/redis/delay-waker.js';
import { loadClusterkit, prepareClusterkit } from '../lib/clusterkit-loader.js';
import { gc } from '../lib/harness.js';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const runs = Number(process.argv[2] ?? 30);
const quiet = process.env.PROBE_QUIET === '1';
// With PROBE_BUNDLE=1 the waker's marks are missing (its classes are the bundle's own).
const bundled = process.env.PROBE_BUNDLE === '1';
const lib = bundled
  ? await prepareClusterkit('worktree').then(async () => {
      const m = await loadClusterkit();
      return { createApp: m.core.createApp, createRedisAdapters: m.redis.createRedisAdapters };
    })
  : { createApp, createRedisAdapters };
const COUNT = 1_000;
const DELAY = 100;

let events: [number, string][] = [];
const mark = (what: string) => events.push([performance.now(), what]);
const epochToPerf = (epoch: number) => epoch - performance.timeOrigin;

const W = DelayWaker.prototype as any;
const schedule = W.schedule;
W.schedule = function (this: any, dueAt: number) {
  const before = this.dueAt;
  schedule.call(this, dueAt);
  mark(`schedule(${(epochToPerf(dueAt) - base).toFixed(1)})${this.dueAt === before ? ' ignored' : ''}`);
};
const fire = W.fire;
W.fire = function (this: any) {
  mark(`waker fire (Date.now ${(epochToPerf(Date.now()) - base).toFixed(0)})`);
  const client = this.connections.openControl;
  const zadd = client.zadd;
  client.zadd = function (...args: unknown[]) {
    client.zadd = zadd;
    const reply = zadd.apply(client, args).then((r: unknown) => (mark('marker reply'), r));
    // Right behind the marker on the same connection: when Redis executed it (server clock).
    void client.eval("return redis.call('TIME')", 0).then(([sec, usec]: [string, string]) => {
      events.push([Number(sec) * 1e3 + Number(usec) / 1e3 - performance.timeOrigin, 'marker executed (server clock)']);
    });
    return reply;
  };
  fire.call(this);
};
const peek = W.peek;
W.peek = async function (this: any) {
  mark('peek');
  await peek.call(this);
  mark(`peek done, armed ${Number.isFinite(this.dueAt) ? (epochToPerf(this.dueAt) - base).toFixed(0) : '-'}`);
};
const P = Worker.prototype as any;
const waitForJob = P.waitForJob;
P.waitForJob = async function (this: any, blockUntil: number) {
  const timeout = this.getBlockTimeout(blockUntil);
  mark(`waitForJob(bu ${blockUntil ? (epochToPerf(blockUntil) - base).toFixed(2) : 0}, to ${timeout})`);
  const r = await waitForJob.call(this, blockUntil);
  mark(`waitForJob -> ${r ? (epochToPerf(r) - base).toFixed(2) : r}`);
  return r;
};
const moveToActive = P.moveToActive;
let fetches = 0;
P.moveToActive = async function (this: any, token: string, name?: string) {
  const n = (fetches += 1);
  const at = Date.now();
  if (n <= 6) mark(`mta#${n} call (ts ${(epochToPerf(at) - base).toFixed(0)})`);
  const job = await moveToActive.call(this, token, name);
  if (n <= 6)
    mark(
      `mta#${n} -> ${job ? 'job' : 'none'} bu ${this.blockUntil ? (epochToPerf(this.blockUntil) - base).toFixed(2) : 0}`,
    );
  return job;
};

let base = 0;
/** Client CPU of the last burst, first call to the last add's reply (ms). */
let lastClientCpu = NaN;
let lastTick = performance.now();
const ticker = setInterval(() => {
  const now = performance.now();
  if (now - lastTick >= 5) events.push([lastTick, `loop blocked ${(now - lastTick).toFixed(1)} ms`]);
  lastTick = now;
}, 1);
ticker.unref();

async function once(run: number): Promise<number> {
  const prefix = `dp-${Math.random().toString(36).slice(2, 8)}`;
  const due = new Float64Array(COUNT);
  let first = Infinity;
  let earliest = Infinity;
  let started = 0;
  let resolveAll!: () => void;
  const all = new Promise<void>((r) => (resolveAll = r));
  if (process.env.PROBE_GC === '1') gc();
  const app = lib.createApp({
    name: 'bench',
    logger: silentLogger,
    adapters: lib.createRedisAdapters({ url: REDIS_URL, prefix }),
    stopGracePeriodMs: 2_000,
  });
  await app.eventQueue.subscribe('bench', {
    concurrency: 50,
    process: async (message) => {
      const i = (message as { i: number }).i;
      const now = performance.now();
      if (now < first) {
        first = now;
        mark(`first handler start (#${i})`);
      }
      earliest = Math.min(earliest, now - (due[i] as number));
      if ((started += 1) === COUNT) resolveAll();
    },
  });
  await app.start();
  const settle = Number(process.env.PROBE_SETTLE ?? 200);
  if (settle > 0) await new Promise((r) => setTimeout(r, settle));
  events = [];
  fetches = 0;
  const admin0 = new Redis(REDIS_URL);
  const redisCpu = async () => {
    const cpu = await admin0.info('cpu');
    return (Number(/used_cpu_user:([\d.]+)/.exec(cpu)?.[1]) + Number(/used_cpu_sys:([\d.]+)/.exec(cpu)?.[1])) * 1e3;
  };
  const redis0 = await redisCpu();
  const cpu0 = process.cpuUsage();
  let burst = '';
  const t0 = performance.now();
  base = t0 + DELAY;
  mark('publish calls begin');
  const pending: Promise<unknown>[] = [];
  for (let i = 0; i < COUNT; i += 1) {
    due[i] = performance.now() + DELAY;
    pending.push(app.eventQueue.publish('bench', { i }, { delay: DELAY }));
  }
  mark('publish calls done');
  void Promise.all(pending).then(async () => {
    mark('publishes resolved');
    const wall = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    const server = (await redisCpu()) - redis0;
    lastClientCpu = (cpu.user + cpu.system) / 1e3;
    burst = `burst wall ${wall.toFixed(0)} ms, client cpu ${((cpu.user + cpu.system) / 1e3).toFixed(0)} ms, redis cpu ${server.toFixed(0)} ms; `;
  });
  await all;
  await admin0.quit();
  await app.stop();
  const admin = new Redis(REDIS_URL);
  const keys = await admin.keys(`${prefix}*`);
  for (let i = 0; i < keys.length; i += 500) await admin.del(...keys.slice(i, i + 500));
  await admin.quit();
  const at = (prefix: string) => {
    const e = events.find(([, what]) => what.startsWith(prefix));
    return e ? (e[0] - base).toFixed(1) : '-';
  };
  // The end of the burst's macrotask: the loop's first block after the calls began, ended.
  const block = events.find(([t, what]) => what.startsWith('loop blocked') && t >= base - DELAY - 1);
  const free = block ? (block[0] + Number(/([\d.]+) ms/.exec(block[1])![1]) - base).toFixed(1) : '-';
  const line =
    `run ${run}: earliest start − due ${earliest.toFixed(1)} ms; ${burst}calls done ${at('publish calls done')}, ` +
    `loop free ${free}, resolved ${at('publishes resolved')}, fire ${at('waker fire')}, marker ${at('marker reply')}, ` +
    `exec ${at('marker executed')}, mta#1 ${at('mta#1 call')}, first start ${at('first handler')}`;
  console.log(line);
  if (!quiet) {
    events.sort((a, b) => a[0] - b[0]);
    for (const [at, what] of events)
      if (at - base < 200) console.log(`  ${(at - base).toFixed(1).padStart(7)} ${what}`);
  }
  return earliest;
}

// PROBE_AB=gc,nogc alternates runs with and without a full GC before the run (as PROBE_GC).
const variants = (process.env.PROBE_AB ?? '').split(',').filter(Boolean);
const results = new Map<string, number[]>();
const clientCpu = new Map<string, number[]>();
for (let run = 1; run <= runs; run += 1) {
  const v = variants.length > 0 ? variants[(run - 1) % variants.length]! : '-';
  if (v !== '-') process.env.PROBE_GC = v === 'gc' ? '1' : '0';
  process.stdout.write(`[${v}] `);
  results.set(v, [...(results.get(v) ?? []), await once(run)]);
  clientCpu.set(v, [...(clientCpu.get(v) ?? []), lastClientCpu]);
}
for (const [v, xs] of results) {
  const cpu = [...(clientCpu.get(v) ?? [])].sort((a, b) => a - b);
  console.log(`[${v}] client cpu per burst (median) ${cpu[Math.floor(cpu.length / 2)]!.toFixed(0)} ms`);
  xs.sort((a, b) => a - b);
  console.log(
    `[${v}] median ${xs[Math.floor(xs.length / 2)]!.toFixed(1)} ms; > 10 ms in ${xs.filter((x) => x > 10).length} of ${xs.length}; ` +
      `per run ${xs.map((x) => x.toFixed(1)).join(' ')}`,
  );
}
