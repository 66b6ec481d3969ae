/**
 * Scale-out on Redis: the same 20,000 messages consumed by 1 worker process and by 3 worker processes
 * (each an app of its own, concurrency 10), on one Redis and on a 3-master Redis Cluster (started for
 * the case on free loopback ports, as the tests do). The queue is filled first, then every worker is
 * told to start at once; elapsed time runs from that signal to the last handler call in any
 * worker. The "raw" column is the 1-process side: the ratio is the 3-vs-1 speed-up.
 */
import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { Cluster, type ClusterNode } from 'ioredis';
import { deletePrefix } from '../../test/redis/delete-prefix.js';
import { startRedisCluster, type RedisClusterHandle } from '../../test/redis/redis-servers.js';
import type { BenchCase } from '../lib/case.js';
import { benchCluster } from '../lib/clusterkit-app.js';
import { clusterkitBundleUrl, loadClusterkit } from '../lib/clusterkit-loader.js';
import type { Metrics, RunInput } from '../lib/harness.js';
import { deleteRedisPrefix, REDIS_URL } from '../lib/services.js';
import { deferred, pool, until } from '../lib/waiting.js';

const COUNT: [number, number] = [20_000, 2_000];
const CONCURRENCY = 10;
const PUBLISH_WINDOW = 200;
const CHANNEL = 'bench';
const WORKER = path.resolve(import.meta.dirname, '..', 'lib', 'scale-worker.ts');
/** Longest wait for a worker process to start its app, or to exit when told to stop, in ms. */
const PROCESS_BOUND_MS = 20_000;

/** Where the apps connect. */
type Source = { url: string } | { cluster: { nodes: ClusterNode[] } };

/** A started worker process and its latest progress report. */
interface WorkerProcess {
  readonly child: ChildProcess;
  count: number;
  lastAt: number;
}

async function startWorker(source: Source, prefix: string, appName: string, signal: AbortSignal) {
  const config = {
    bundle: clusterkitBundleUrl(),
    ...('url' in source ? { url: source.url } : { clusterNodes: source.cluster.nodes }),
    prefix,
    appName,
    channel: CHANNEL,
    concurrency: CONCURRENCY,
  };
  const child = fork(WORKER, [], {
    execArgv: ['--import', 'tsx'],
    env: { ...process.env, CK_SCALE_WORKER: JSON.stringify(config) },
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  const worker: WorkerProcess = { child, count: 0, lastAt: 0 };
  const ready = deferred();
  child.on('message', (m: { type: string; count?: number; lastAt?: number }) => {
    if (m.type === 'ready') ready.resolve();
    if (m.type === 'progress') {
      worker.count = m.count ?? 0;
      worker.lastAt = m.lastAt ?? 0;
    }
  });
  child.once('exit', (code) => ready.reject(new Error(`worker process exited (${code}) before it was ready`)));
  const bound = setTimeout(() => ready.reject(new Error('worker process not ready in time')), PROCESS_BOUND_MS);
  try {
    await until(ready.promise, signal, 'a worker process ready');
  } finally {
    clearTimeout(bound);
  }
  return worker;
}

async function stopWorker({ child }: WorkerProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.send({ type: 'stop' });
  const timer = setTimeout(() => child.kill('SIGKILL'), PROCESS_BOUND_MS);
  await exited;
  clearTimeout(timer);
}

/** Deletes every key under `prefix` on each master of a cluster. */
async function deleteClusterPrefix(nodes: ClusterNode[], prefix: string): Promise<void> {
  const client = new Cluster(nodes);
  client.on('error', () => undefined);
  try {
    await deletePrefix(client, prefix);
  } finally {
    client.disconnect();
  }
}

async function runScaleOut(input: RunInput, source: Source, processes: number, count: number): Promise<Metrics> {
  const { core, redis } = await loadClusterkit();
  const cluster = benchCluster('redis');
  const publisher = core.createApp({
    name: cluster.name,
    logger: core.silentLogger,
    adapters: redis.createRedisAdapters({ ...source, prefix: cluster.prefix }),
  });
  const workers: WorkerProcess[] = [];
  try {
    await publisher.start();
    for (let i = 0; i < processes; i += 1) {
      workers.push(await startWorker(source, cluster.prefix, cluster.name, input.signal));
    }
    await pool(count, PUBLISH_WINDOW, input.signal, (i) => publisher.eventQueue.publish(CHANNEL, { i }));
    const allDone = deferred();
    const watch = setInterval(() => {
      if (workers.reduce((sum, w) => sum + w.count, 0) >= count) allDone.resolve();
    }, 5);
    const goAt = performance.timeOrigin + performance.now();
    for (const worker of workers) worker.child.send({ type: 'go' });
    try {
      await until(allDone.promise, input.signal, `${count} handler calls across ${processes} processes`);
    } finally {
      clearInterval(watch);
    }
    const lastAt = Math.max(...workers.map((w) => w.lastAt));
    const perProcess = workers.map((w) => w.count);
    return {
      throughput: count / ((lastAt - goAt) / 1000),
      // How evenly the processes shared the work (min/max handled), for the notes.
      balance: Math.min(...perProcess) / Math.max(...perProcess),
    };
  } finally {
    await Promise.allSettled(workers.map(stopWorker));
    await publisher.stop().catch(() => undefined);
    if ('url' in source) await deleteRedisPrefix(cluster.prefix).catch(() => undefined);
    else await deleteClusterPrefix(source.cluster.nodes, cluster.prefix).catch(() => undefined);
  }
}

/** The case. */
export const redisScaleOut: BenchCase = {
  name: 'redis-scale-out',
  title: 'Redis eventQueue scale-out',
  compareWith: '1 worker process (the 3-vs-1 ratio)',
  targetText: '3 worker processes ≥ 1.5× one on a single Redis',
  budgetMs: 300_000,
  async run(ctx, report) {
    const count = ctx.size(...COUNT);
    report.note(
      `${count} messages \`{ i }\` published first (pool of ${PUBLISH_WINDOW}) onto one queue, then every worker ` +
        `process (its own app and connections, concurrency ${CONCURRENCY}, handler does nothing; subscribed ` +
        'beforehand behind a closed `idle()` gate) is told to start at once; throughput = messages / (last handler ' +
        'call in any process − the signal). Process and app start are not measured. The Redis Cluster is 3 masters ' +
        'on loopback started for the case; one queue lives in one hash slot, so it is served by one master ' +
        '(different queues spread over the masters). "balance" in the JSON is min/max messages per process.',
    );
    let redisCluster: RedisClusterHandle | undefined;
    try {
      const variants: [string, () => Promise<Source>, number][] = [
        ['single Redis', async () => ({ url: REDIS_URL }), 1.5],
        [
          'Redis Cluster (3 masters)',
          async () => {
            redisCluster ??= await startRedisCluster();
            return { cluster: { nodes: redisCluster.ports.map((port) => ({ host: '127.0.0.1', port })) } };
          },
          0,
        ],
      ];
      for (const [index, [key, sourceOf, ratio]] of variants.entries()) {
        const source = await sourceOf();
        const share = (ctx.deadline - performance.now()) / (variants.length - index);
        await report.compare(key, {
          budgetMs: share,
          runTimeoutMs: ctx.size(120_000, 30_000),
          sides: {
            '3 processes': (input) => runScaleOut(input, source, 3, input.warmup ? Math.ceil(count / 4) : count),
            '1 process': (input) => runScaleOut(input, source, 1, input.warmup ? Math.ceil(count / 4) : count),
          },
        });
        report.row(key, {
          label: `${key}, ${count} msgs, 3 vs 1 process`,
          metric: 'throughput',
          unit: 'msg/s',
          higherIsBetter: true,
          ours: '3 processes',
          raw: '1 process',
          target: ratio > 0 ? { kind: 'min-ratio', value: ratio } : { kind: 'none' },
        });
      }
    } finally {
      await redisCluster?.stop();
    }
  },
};
