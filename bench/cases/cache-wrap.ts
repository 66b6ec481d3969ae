/**
 * Cache `wrap` hit path: N reads of a key that is already cached, through `app.cache.wrap(key,
 * loader, ttl)` (namespacing, JSON, single-flight bookkeeping), against a raw `Map` read (memory)
 * and a raw ioredis `GET` + `JSON.parse` (Redis). Redis is measured one call at a time and with 64
 * calls in flight (where client-side CPU, not the round trip, bounds throughput).
 */
import type { BenchCase } from '../lib/case.js';
import { benchCluster, startNode } from '../lib/clusterkit-app.js';
import type { RunInput } from '../lib/harness.js';
import { deleteRedisPrefix, randomName, redisClient } from '../lib/services.js';
import { pool } from '../lib/waiting.js';

const VALUE = { id: 42, name: 'cached value', tags: ['a', 'b'], active: true };
const TTL_MS = 600_000;
/**
 * Distinct keys read in turn. One hot key would let `wrap`'s single-flight coalesce concurrent reads
 * into one store read, measuring the coalescing rather than the hit path.
 */
const KEYS = Array.from({ length: 1024 }, (_, i) => `k${i}`);

type Reader = (key: string) => Promise<unknown>;

async function readLoop(input: RunInput, count: number, inFlight: number, read: Reader) {
  const start = performance.now();
  await pool(count, inFlight, input.signal, (i) => read(KEYS[i % KEYS.length]!));
  return { throughput: count / ((performance.now() - start) / 1000) };
}

async function runClusterkit(input: RunInput, backend: 'memory' | 'redis', count: number, inFlight: number) {
  const node = await startNode(benchCluster(backend));
  try {
    const cache = node.app.cache;
    const loader = async () => VALUE;
    for (const key of KEYS) await cache.wrap(key, loader, TTL_MS);
    return await readLoop(input, count, inFlight, (key) => cache.wrap(key, loader, TTL_MS));
  } finally {
    await node.dispose();
  }
}

async function runMap(input: RunInput, count: number) {
  const map = new Map<string, unknown>(KEYS.map((key) => [key, VALUE]));
  return readLoop(input, count, 1, async (key) => map.get(key));
}

async function runIoredis(input: RunInput, count: number, inFlight: number) {
  const client = redisClient();
  const prefix = randomName('cache');
  try {
    const pipeline = client.pipeline();
    for (const key of KEYS) pipeline.set(`${prefix}:${key}`, JSON.stringify(VALUE), 'PX', TTL_MS);
    await pipeline.exec();
    return await readLoop(input, count, inFlight, async (key) => {
      const text = await client.get(`${prefix}:${key}`);
      return text === null ? undefined : JSON.parse(text);
    });
  } finally {
    await deleteRedisPrefix(prefix, client);
    await client.quit().catch(() => client.disconnect());
  }
}

/** The case. */
export const cacheWrap: BenchCase = {
  name: 'cache-wrap',
  title: 'Cache wrap hit path',
  compareWith: 'raw Map.get (memory) and raw ioredis GET + JSON.parse (Redis)',
  targetText: '≥ 0.8× raw',
  budgetMs: 45_000,
  async run(ctx, report) {
    const variants = [
      { key: 'memory', label: 'memory', count: ctx.size(500_000, 20_000), inFlight: 1 },
      { key: 'redis 1', label: 'Redis, 1 in flight', count: ctx.size(10_000, 500), inFlight: 1 },
      { key: 'redis 64', label: 'Redis, 64 in flight', count: ctx.size(50_000, 2_000), inFlight: 64 },
    ] as const;
    report.note(
      `Reads of ${KEYS.length} cached keys in turn, each a small object (${JSON.stringify(VALUE).length} bytes of JSON): ` +
        variants.map((v) => `${v.count} for ${v.label}`).join(', ') +
        '. Memory baseline: an async function returning `map.get(key)`, awaited; Redis baseline: `GET` + `JSON.parse`.',
    );
    for (const [index, v] of variants.entries()) {
      const share = (ctx.deadline - performance.now()) / (variants.length - index);
      const rawName = v.key === 'memory' ? 'Map' : 'ioredis GET';
      const small = Math.ceil(v.count / 10);
      await report.compare(v.key, {
        budgetMs: share,
        runTimeoutMs: 30_000,
        sides: {
          clusterkit: (input) =>
            runClusterkit(input, v.key === 'memory' ? 'memory' : 'redis', input.warmup ? small : v.count, v.inFlight),
          [rawName]: (input) =>
            v.key === 'memory'
              ? runMap(input, input.warmup ? small : v.count)
              : runIoredis(input, input.warmup ? small : v.count, v.inFlight),
        },
      });
      report.row(v.key, {
        label: v.label,
        metric: 'hits',
        figure: 'throughput',
        unit: 'ops/s',
        higherIsBetter: true,
        ours: 'clusterkit',
        raw: rawName,
        target: { kind: 'min-ratio', value: 0.8 },
      });
    }
  },
};
