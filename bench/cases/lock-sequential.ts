/**
 * Uncontended Redis lock: N acquire+release pairs one after the other on one key; clusterkit's
 * `lockManager` on Redis against redlock with a single client, and against the bare
 * `SET NX PX` + Lua release it is all built on.
 */
import type { BenchCase } from '../lib/case.js';
import { benchCluster, startNode } from '../lib/clusterkit-app.js';
import type { RunInput } from '../lib/harness.js';
import { redlockLocker, setNxLocker, type RawLocker } from '../lib/raw-locks.js';
import { deleteRedisPrefix, randomName } from '../lib/services.js';
import { RunAbortedError } from '../lib/waiting.js';

const TTL_MS = 10_000;

async function runClusterkit(input: RunInput, count: number) {
  const node = await startNode(benchCluster('redis'));
  try {
    const start = performance.now();
    for (let i = 0; i < count; i += 1) {
      if (input.signal.aborted) throw new RunAbortedError(`aborted after ${i} pairs`);
      const lock = await node.app.lockManager.acquire('bench', TTL_MS);
      await lock.release();
    }
    return { throughput: count / ((performance.now() - start) / 1000) };
  } finally {
    await node.dispose();
  }
}

/**
 * Diagnostic side: clusterkit's Redis lock adapter called directly (`tryAcquire` + `release`, the two
 * Lua scripts), without the manager — what the manager's acquire could cost if it added no round trip.
 */
async function runAdapterOnly(input: RunInput, count: number) {
  const node = await startNode(benchCluster('redis'));
  try {
    const adapter = node.adapters.lock;
    if (!adapter) throw new Error('no lock adapter');
    const key = `${node.app.name}:bench`;
    const owner = `${node.app.nodeId}:bench`;
    const start = performance.now();
    for (let i = 0; i < count; i += 1) {
      if (input.signal.aborted) throw new RunAbortedError(`aborted after ${i} pairs`);
      const result = await adapter.tryAcquire(key, owner, TTL_MS);
      if (!result.acquired) throw new Error('lock unexpectedly held');
      await adapter.release(key, owner, result.fencingToken);
    }
    return { throughput: count / ((performance.now() - start) / 1000) };
  } finally {
    await node.dispose();
  }
}

async function runRaw(input: RunInput, count: number, locker: RawLocker) {
  const key = randomName('lock');
  try {
    const start = performance.now();
    for (let i = 0; i < count; i += 1) {
      if (input.signal.aborted) throw new RunAbortedError(`aborted after ${i} pairs`);
      const release = await locker.acquire(key, TTL_MS);
      await release();
    }
    return { throughput: count / ((performance.now() - start) / 1000) };
  } finally {
    await locker.close();
    await deleteRedisPrefix(key);
  }
}

/** The case. */
export const lockSequential: BenchCase = {
  name: 'lock-sequential',
  title: 'Redis lock acquire+release, sequential',
  compareWith: 'redlock (single instance) and raw `SET NX PX` + Lua release',
  targetText: '≥ 1.0× redlock',
  budgetMs: 35_000,
  async run(ctx, report) {
    const count = ctx.size(3_000, 200);
    report.note(
      `${count} acquire+release pairs per run, one after the other, one key, TTL ${TTL_MS} ms, nobody else contending. ` +
        'redlock with one ioredis client and its default settings. "clusterkit adapter only" calls the Redis lock ' +
        "adapter's two Lua scripts directly (no manager): the figure the manager could reach if it added no round trip.",
    );
    await report.compare('sequential', {
      budgetMs: ctx.deadline - performance.now(),
      runTimeoutMs: 30_000,
      sides: {
        clusterkit: (input) => runClusterkit(input, input.warmup ? 300 : count),
        redlock: (input) => runRaw(input, input.warmup ? 300 : count, redlockLocker()),
        'SET NX PX + Lua': (input) => runRaw(input, input.warmup ? 300 : count, setNxLocker()),
        'clusterkit adapter only': (input) => runAdapterOnly(input, input.warmup ? 300 : count),
      },
    });
    const common = {
      label: 'sequential',
      metric: 'throughput',
      unit: 'pairs/s',
      higherIsBetter: true,
      ours: 'clusterkit',
    } as const;
    report.row('sequential', { ...common, raw: 'redlock', target: { kind: 'min-ratio', value: 1.0 } });
    report.row('sequential', { ...common, raw: 'SET NX PX + Lua', target: { kind: 'none' } });
    report.row('sequential', {
      ...common,
      label: 'adapter only vs redlock',
      ours: 'clusterkit adapter only',
      raw: 'redlock',
      target: { kind: 'none' },
    });
  },
};
