/**
 * Contended Redis lock: 4 workers (each with its own connections) loop acquire → hold 1 ms → release
 * on one key for a fixed time. Measured: release→next-holder latency (release call to the next
 * acquire resolving, any worker), the same for handoffs to another worker, and fairness (fewest /
 * most acquisitions per worker). clusterkit's waiters wake on a release notification; redlock with
 * its default retry settings (10 retries, 200 ms ± 100 ms apart) polls.
 */
import type { BenchCase } from '../lib/case.js';
import { benchCluster, startNode, type BenchApp } from '../lib/clusterkit-app.js';
import type { RunInput } from '../lib/harness.js';
import { redlockLocker } from '../lib/raw-locks.js';
import { deleteRedisPrefix, randomName } from '../lib/services.js';
import { latencyPercentiles } from '../lib/stats.js';
import { sleep, until } from '../lib/waiting.js';

const WORKERS = 4;
const HOLD_MS = 1;
const TTL_MS = 10_000;

/** A worker's acquire: resolves with its release function; `stop` aborts a wait where the API allows it. */
export type Acquire = (stop: AbortSignal) => Promise<() => Promise<void>>;

/** Runs the workers for `durationMs` and computes the figures. */
export async function contend(input: RunInput, durationMs: number, acquirers: readonly Acquire[]) {
  const stop = new AbortController();
  const acquisitions = new Array<number>(acquirers.length).fill(0);
  const handoffs: number[] = [];
  const crossHandoffs: number[] = [];
  let lastReleaseAt: number | undefined;
  let lastHolder = -1;
  let holding = 0;
  let overlaps = 0;
  let failures = 0;

  const worker = async (id: number, acquire: Acquire) => {
    while (!stop.signal.aborted) {
      let release: () => Promise<void>;
      try {
        release = await acquire(stop.signal);
      } catch {
        if (!stop.signal.aborted) failures += 1; // redlock gave up after its retries
        continue;
      }
      const now = performance.now();
      holding += 1;
      if (holding > 1) overlaps += 1;
      if (lastReleaseAt !== undefined) {
        handoffs.push(now - lastReleaseAt);
        if (lastHolder !== id) crossHandoffs.push(now - lastReleaseAt);
      }
      acquisitions[id] = (acquisitions[id] ?? 0) + 1;
      await sleep(HOLD_MS);
      holding -= 1;
      lastHolder = id;
      lastReleaseAt = performance.now();
      await release();
    }
  };

  const started = performance.now();
  const running = Promise.all(acquirers.map((a, id) => worker(id, a)));
  const timer = setTimeout(() => stop.abort(), durationMs);
  try {
    await until(running, input.signal, 'the workers to stop');
  } finally {
    clearTimeout(timer);
    stop.abort();
  }
  const elapsed = (performance.now() - started) / 1000;
  const all = latencyPercentiles(handoffs);
  const cross = latencyPercentiles(crossHandoffs);
  const total = acquisitions.reduce((a, b) => a + b, 0);
  return {
    p50: all.p50,
    p99: all.p99,
    crossP50: cross.p50,
    crossP99: cross.p99,
    fairness: Math.min(...acquisitions) / Math.max(1, ...acquisitions),
    minPerWorker: Math.min(...acquisitions),
    maxPerWorker: Math.max(...acquisitions),
    acquisitionsPerSecond: total / elapsed,
    crossShare: crossHandoffs.length / Math.max(1, handoffs.length),
    failures,
    overlaps,
  };
}

async function runClusterkit(input: RunInput, durationMs: number) {
  const cluster = benchCluster('redis');
  const nodes: BenchApp[] = [];
  try {
    for (let i = 0; i < WORKERS; i += 1) nodes.push(await startNode(cluster));
    return await contend(
      input,
      durationMs,
      nodes.map((node) => async (stop) => {
        const lock = await node.app.lockManager.acquire('bench', TTL_MS, { signal: stop });
        return () => lock.release().then(() => undefined);
      }),
    );
  } finally {
    for (const node of nodes) await node.dispose();
  }
}

async function runRedlock(input: RunInput, durationMs: number) {
  const key = randomName('lock');
  const lockers = Array.from({ length: WORKERS }, () => redlockLocker());
  try {
    return await contend(
      input,
      durationMs,
      lockers.map((locker) => () => locker.acquire(key, TTL_MS)),
    );
  } finally {
    for (const locker of lockers) await locker.close();
    await deleteRedisPrefix(key);
  }
}

/** The case. */
export const lockContended: BenchCase = {
  name: 'lock-contended',
  title: 'Contended Redis lock, 4 workers',
  compareWith: 'redlock (single instance) with its default retry settings',
  targetText:
    'release→next holder p50 ≤ 2 ms, counting only handoffs to another worker; fairness (min/max acquisitions per worker) ≥ 0.9',
  budgetMs: 50_000,
  async run(ctx, report) {
    const durationMs = ctx.size(3_000, 1_000);
    report.note(
      `${WORKERS} workers in one process, each its own app/redlock and connections, loop acquire → hold ${HOLD_MS} ms ` +
        `(a timer) → release on one key for ${durationMs / 1000} s per run. Handoff latency = next acquire resolving − ` +
        'release call; "to another worker" counts only handoffs where the holder changed. Overlaps (two holders at ' +
        'once) are counted as a sanity check and must be 0.',
    );
    await report.compare('4 workers', {
      budgetMs: ctx.deadline - performance.now(),
      runTimeoutMs: durationMs + 15_000,
      sides: {
        clusterkit: (input) => runClusterkit(input, input.warmup ? 500 : durationMs),
        redlock: (input) => runRedlock(input, input.warmup ? 500 : durationMs),
      },
    });
    const common = { label: '4 workers', ours: 'clusterkit', raw: 'redlock' } as const;
    const ms = { ...common, unit: 'ms', higherIsBetter: false } as const;
    report.row('4 workers', { ...ms, metric: 'handoff p50', figure: 'p50', target: { kind: 'none' } });
    report.row('4 workers', { ...ms, metric: 'handoff p99', figure: 'p99', target: { kind: 'none' } });
    report.row('4 workers', {
      ...ms,
      metric: 'handoff to another worker p50',
      figure: 'crossP50',
      target: { kind: 'max', value: 2 },
    });
    report.row('4 workers', {
      ...common,
      metric: 'fairness',
      unit: 'min/max',
      higherIsBetter: true,
      target: { kind: 'min', value: 0.9 },
    });
    report.row('4 workers', {
      ...common,
      metric: 'acquisitions',
      figure: 'acquisitionsPerSecond',
      unit: '/s',
      higherIsBetter: true,
      target: { kind: 'none' },
    });
  },
};
