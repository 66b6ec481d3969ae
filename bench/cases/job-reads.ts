/**
 * Job reads at volume: 100,000 retained job records (90% completed, 5% failed, 5% waiting, over 20
 * plugin/queue/tenant combinations), then the latency of `getJob`, `listJobs` (first page of 100,
 * unfiltered and filtered by state and plugin) and `getMetrics` (all, and one plugin). The records
 * are written through the app's job store, as the job layer writes them; the reads go through
 * `app.managedQueue`. Memory and Redis (both indexed), and Redis's native engine, whose jobs are
 * BullMQ jobs: there the same records are written as BullMQ's job hashes and state sets plus the
 * engine's tenant index (what its add and finish scripts leave; no handler runs). No raw comparison.
 */
import { randomUUID } from 'node:crypto';
import type { App, JobRecord } from 'clusterkit/adapter-kit';
import type { BenchCase } from '../lib/case.js';
import { benchCluster, startNode, type Backend } from '../lib/clusterkit-app.js';
import type { RunInput } from '../lib/harness.js';
import { latencyPercentiles } from '../lib/stats.js';
// The engine's key layout from its source (the same code the bench's bundle is built from).
import { nativeAppKey, nativeBullName } from '../../adapters/redis/native-ids.js';
import { redisClient } from '../lib/services.js';
import { pool } from '../lib/waiting.js';

const RECORDS = 100_000;
const SAMPLES = 50;

function recordOf(i: number, now: number): JobRecord {
  const state = i % 20 === 0 ? 'waiting' : i % 20 === 1 ? 'failed' : 'completed';
  return {
    v: 1,
    id: randomUUID(),
    nonce: 'bench',
    gen: 0,
    state,
    pluginName: `plugin-${i % 5}`,
    queueName: `queue-${i % 2}`,
    jobName: 'work',
    tenantId: `tenant-${i % 2}`,
    payload: { i, note: 'a small payload of a retained job' },
    priority: 2,
    maxAttempts: 1,
    attemptsMade: state === 'waiting' ? 0 : 1,
    attemptsStarted: state === 'waiting' ? 0 : 1,
    history: [],
    delayMs: 0,
    backoff: { type: 'fixed', delay: 0, maxDelay: 0, jitter: 0 },
    progress: 0,
    enqueuedAt: now - RECORDS + i,
    runAt: now - RECORDS + i,
    removeOnComplete: false,
    removeOnFail: false,
    ...(state === 'waiting' ? {} : { finishedAt: now - RECORDS + i + 1, expiresAt: now + 3_600_000 }),
  };
}

async function timed(samples: number, call: () => Promise<unknown>): Promise<{ p50: number; p99: number }> {
  const ms: number[] = [];
  for (let i = 0; i < samples; i += 1) {
    const began = performance.now();
    await call();
    ms.push(performance.now() - began);
  }
  const p = latencyPercentiles(ms);
  return { p50: p.p50, p99: p.p99 };
}

/**
 * The records as the native engine keeps them (app name `bench`, job name `work`: no part needs
 * escaping): per handler queue, BullMQ's job hashes, `prioritized` / `completed` / `failed` sets,
 * and the engine's tenant index and handler sets. Returns the jobs' public ids.
 */
export async function seedNative(prefix: string, count: number, now: number): Promise<string[]> {
  const redis = redisClient();
  const ids: string[] = [];
  try {
    let pipe = redis.pipeline();
    for (let i = 0; i < count; i += 1) {
      const r = recordOf(i, now);
      const hk = `${r.pluginName}:${r.queueName}:work`;
      const p = `${prefix}:q:${nativeBullName('bench', { pluginName: r.pluginName, queueName: r.queueName, jobName: 'work' })}:`;
      const bullId = String(i + 1);
      ids.push(`${r.pluginName}/${r.queueName}/work/${bullId}`);
      const hash: Record<string, string | number> = {
        name: 'work',
        data: JSON.stringify({ p: r.payload, t: r.tenantId }),
        opts: '{"attempts":1}',
        timestamp: r.enqueuedAt,
        priority: 3,
        atm: r.attemptsMade,
        ats: r.attemptsStarted,
      };
      if (r.state === 'waiting') pipe.zadd(`${p}prioritized`, 3 * 2 ** 32 + i, bullId);
      else {
        Object.assign(hash, { processedOn: r.enqueuedAt, finishedOn: r.finishedAt! });
        if (r.state === 'failed') hash.failedReason = 'bench';
        else hash.returnvalue = 'null';
        pipe.zadd(`${p}${r.state}`, r.finishedAt!, bullId);
      }
      pipe.hset(p + bullId, hash);
      pipe.zadd(`${p}ck:tenant:${r.tenantId!}`, r.enqueuedAt, bullId);
      pipe.sadd(`${p}ck:tenants`, r.tenantId!);
      pipe.sadd(nativeAppKey(prefix, 'bench', 'handlers', r.pluginName), hk);
      pipe.sadd(nativeAppKey(prefix, 'bench', 'plugins'), r.pluginName);
      // Paused (BullMQ's flag and ours): no handler runs them, and the engine's NO_PROCESSOR pass
      // leaves a paused queue's jobs waiting, so the records stay as seeded while they are read.
      if (i < 10) {
        pipe.hset(`${p}meta`, 'paused', 1);
        pipe.set(nativeAppKey(prefix, 'bench', 'paused', r.pluginName, r.queueName), '1');
      }
      if (pipe.length >= 6_000) {
        await pipe.exec();
        pipe = redis.pipeline();
      }
    }
    await pipe.exec();
  } finally {
    redis.disconnect();
  }
  return ids;
}

/** `memory`, `redis` (the native engine) or `redis-records` (the record engine's Redis job store). */
type ReadsBackend = Backend | 'redis-records';

async function run(input: RunInput, backend: ReadsBackend, count: number) {
  const native = backend === 'redis';
  const cluster =
    backend === 'redis-records' ? benchCluster('redis', { jobEngine: 'records' }) : benchCluster(backend as Backend);
  const node = await startNode(cluster, (app: App) => {
    void app;
  });
  try {
    const { app } = node;
    const now = Date.now();
    let ids: string[] = [];
    if (native) ids = await seedNative(cluster.prefix, count, now);
    else {
      const store = app.managedQueue.jobStore;
      await pool(count, 256, input.signal, async (i) => {
        const record = recordOf(i, now);
        ids.push(record.id);
        await store.create(record);
      });
    }
    const mq = app.managedQueue;
    const getJob = await timed(SAMPLES * 4, () => mq.getJob(ids[Math.floor(Math.random() * ids.length)]!));
    const list = await timed(SAMPLES, () => mq.listJobs({ limit: 100 }));
    const listFailed = await timed(SAMPLES, () => mq.listJobs({ state: 'failed', pluginName: 'plugin-1', limit: 100 }));
    const metrics = await timed(SAMPLES, () => mq.getMetrics());
    const metricsPlugin = await timed(SAMPLES, () => mq.getMetrics({ pluginName: 'plugin-3' }));
    const listTenant = await timed(SAMPLES, () => mq.listJobs({ tenantId: 'tenant-1', limit: 100 }));
    const metricsTenant = await timed(SAMPLES, () => mq.getMetrics({ tenantId: 'tenant-1' }));
    const found = await mq.getJob(ids[0]!);
    if (found?.state !== recordOf(0, now).state) throw new Error(`getJob read ${found?.state ?? 'nothing'}`);
    const total = (await mq.getMetrics()) as unknown as Record<string, number>;
    const counted = Object.values(total).reduce((a, b) => a + b, 0);
    if (counted !== count) throw new Error(`getMetrics counted ${counted} of ${count} records`);
    return {
      getJobP50: getJob.p50,
      getJobP99: getJob.p99,
      listP50: list.p50,
      listP99: list.p99,
      listFilteredP50: listFailed.p50,
      metricsP50: metrics.p50,
      metricsP99: metrics.p99,
      metricsPluginP50: metricsPlugin.p50,
      listTenantP50: listTenant.p50,
      metricsTenantP50: metricsTenant.p50,
    };
  } finally {
    await node.dispose();
  }
}

/** The case. */
export const jobReads: BenchCase = {
  name: 'job-reads',
  title: 'Managed job reads with 100,000 retained records',
  compareWith: 'nothing (absolute figures)',
  targetText: 'report getJob, listJobs and getMetrics latency (indexed: no scan of every record)',
  budgetMs: 360_000,
  async run(ctx, report) {
    const count = ctx.size(RECORDS, 5_000);
    report.note(
      `${count} records written through the job store (90% completed, 5% failed, 5% waiting; 5 plugins × 2 queues × 2 tenants), ` +
        `then ${SAMPLES * 4} getJob calls on random ids, ${SAMPLES} each of listJobs (first page of 100; state failed + one plugin; one tenant) ` +
        'and getMetrics (all; one plugin; one tenant), one at a time. The native engine: the same records as BullMQ jobs.',
    );
    const backends = ['memory', 'redis', 'redis-records'] as const;
    for (const [index, backend] of backends.entries()) {
      const share = (ctx.deadline - performance.now()) / (backends.length - index);
      await report.compare(backend, {
        budgetMs: share,
        runTimeoutMs: 180_000,
        sides: { clusterkit: (input) => run(input, backend, input.warmup ? Math.ceil(count / 20) : count) },
      });
      const label = { memory: 'memory', redis: 'Redis, native engine', 'redis-records': 'Redis, record engine' }[
        backend
      ];
      const common = {
        label,
        unit: 'ms',
        higherIsBetter: false,
        ours: 'clusterkit',
        target: { kind: 'none' },
      } as const;
      report.row(backend, { ...common, metric: 'getJob p50', figure: 'getJobP50' });
      report.row(backend, { ...common, metric: 'getJob p99', figure: 'getJobP99' });
      report.row(backend, { ...common, metric: 'listJobs page p50', figure: 'listP50' });
      report.row(backend, { ...common, metric: 'listJobs failed+plugin p50', figure: 'listFilteredP50' });
      report.row(backend, { ...common, metric: 'getMetrics p50', figure: 'metricsP50' });
      report.row(backend, { ...common, metric: 'getMetrics one plugin p50', figure: 'metricsPluginP50' });
      report.row(backend, { ...common, metric: 'listJobs one tenant p50', figure: 'listTenantP50' });
      report.row(backend, { ...common, metric: 'getMetrics one tenant p50', figure: 'metricsTenantP50' });
    }
  },
};
