/**
 * Pub/sub on Redis and RabbitMQ: (1) latency — one message at a time, publish call on one node to
 * handler call on another; (2) throughput — N messages published through a bounded pool, counted at
 * the subscriber (pub/sub is at-most-once: losses are counted, not waited for). clusterkit's
 * `pubSubManager` on two nodes against raw ioredis PUBLISH/SUBSCRIBE and a raw amqplib fanout.
 */
import type { BenchCase } from '../lib/case.js';
import { benchCluster, startNode, type BenchApp } from '../lib/clusterkit-app.js';
import type { Metrics, RunInput } from '../lib/harness.js';
import { startRawAmqpPubSub, startRawRedisPubSub, type RawPubSub } from '../lib/raw-pubsub.js';
import { latencyPercentiles } from '../lib/stats.js';
import { countdown, deferred, pool, quiet, until, type Deferred } from '../lib/waiting.js';

const PUBLISH_WINDOW = 500;
/** Throughput runs stop waiting once no message arrived for this long after the last publish, in ms. */
const QUIET_MS = 2_000;

type Mode = { kind: 'latency'; samples: number } | { kind: 'throughput'; count: number };
type Backend = 'redis' | 'rabbitmq';

/** Receives every message in `onMessage`; what a side sets up for one run. */
type Pair = (onMessage: (message: unknown) => void) => Promise<RawPubSub>;

async function measure(input: RunInput, mode: Mode, pair: Pair): Promise<Metrics> {
  if (mode.kind === 'latency') {
    let arrival: Deferred<number> | undefined;
    const link = await pair(() => arrival?.resolve(performance.now()));
    try {
      // The subscription is live once a probe arrives (SUBSCRIBE / bind completes asynchronously).
      arrival = deferred<number>();
      const probing = setInterval(() => void link.publish({ probe: true }).catch(() => undefined), 50);
      await until(arrival.promise, input.signal, 'the subscription').finally(() => clearInterval(probing));
      const latencies: number[] = [];
      for (let i = 0; i < mode.samples; i += 1) {
        arrival = deferred<number>();
        const sent = performance.now();
        await link.publish({ i });
        latencies.push((await until(arrival.promise, input.signal, `message ${i}`)) - sent);
      }
      const p = latencyPercentiles(latencies);
      return { p50: p.p50, p99: p.p99, max: p.max };
    } finally {
      await link.close();
    }
  }
  const ready = deferred();
  const received = countdown(mode.count);
  const link = await pair((message) => {
    if ((message as { probe?: boolean }).probe) ready.resolve();
    else received.hit();
  });
  try {
    const probing = setInterval(() => void link.publish({ probe: true }).catch(() => undefined), 50);
    await until(ready.promise, input.signal, 'the subscription').finally(() => clearInterval(probing));
    const start = performance.now();
    await pool(mode.count, PUBLISH_WINDOW, input.signal, (i) => link.publish({ i }));
    await until(Promise.race([received.done, quiet(() => received.lastAt, QUIET_MS)]), input.signal, 'the messages');
    return {
      throughput: received.count / ((received.lastAt - start) / 1000),
      lost: mode.count - received.count,
    };
  } finally {
    await link.close();
  }
}

/** clusterkit: a publishing node and a subscribing node of one cluster. */
function clusterkitPair(backend: Backend): Pair {
  return async (onMessage) => {
    const cluster = benchCluster(backend);
    const publisher = await startNode(cluster);
    let subscriber: BenchApp | undefined;
    try {
      subscriber = await startNode(cluster, (app) => app.pubSubManager.subscribe('bench', onMessage));
    } catch (error) {
      await publisher.dispose();
      throw error;
    }
    const sub = subscriber;
    return {
      publish: (message) => publisher.app.pubSubManager.publish('bench', message),
      async close() {
        await sub.dispose();
        await publisher.dispose();
      },
    };
  };
}

/** The case. */
export const pubsub: BenchCase = {
  name: 'pubsub',
  title: 'Pub/sub latency and throughput',
  compareWith: 'raw ioredis PUBLISH/SUBSCRIBE and raw amqplib fanout exchange',
  targetText: 'latency p50 ≤ raw + 0.1 ms; throughput ≥ 0.8× raw',
  budgetMs: 110_000,
  async run(ctx, report) {
    const samples = ctx.size(1_000, 50);
    const count = ctx.size(100_000, 5_000);
    report.note(
      `Latency: ${samples} messages one at a time, publish call on node A → handler call on node B (same process). ` +
        `Throughput: ${count} messages through a pool of ${PUBLISH_WINDOW} concurrent publishes, time from the first ` +
        `publish to the last message received; the run stops waiting ${QUIET_MS} ms after the last arrival and counts ` +
        'what was lost (the `lost` figure in the JSON). RabbitMQ raw publishes are unconfirmed (`channel.publish`, ' +
        'waiting for `drain`), consumed with `noAck`.',
    );
    const raws: Record<Backend, { name: string; pair: Pair }> = {
      redis: { name: 'ioredis', pair: startRawRedisPubSub },
      rabbitmq: { name: 'amqplib fanout', pair: startRawAmqpPubSub },
    };
    const parts = 4;
    let index = 0;
    for (const backend of ['redis', 'rabbitmq'] as const) {
      const raw = raws[backend];
      const label = backend === 'redis' ? 'Redis' : 'RabbitMQ';
      for (const mode of [
        { kind: 'latency', samples },
        { kind: 'throughput', count },
      ] as const) {
        const key = `${label} ${mode.kind}`;
        const share = (ctx.deadline - performance.now()) / (parts - index);
        index += 1;
        const small: Mode =
          mode.kind === 'latency'
            ? { kind: 'latency', samples: 100 }
            : { kind: 'throughput', count: Math.ceil(count / 10) };
        await report.compare(key, {
          budgetMs: share,
          runTimeoutMs: 60_000,
          sides: {
            clusterkit: (input) => measure(input, input.warmup ? small : mode, clusterkitPair(backend)),
            [raw.name]: (input) => measure(input, input.warmup ? small : mode, raw.pair),
          },
        });
        const common = { label, ours: 'clusterkit', raw: raw.name } as const;
        if (mode.kind === 'latency') {
          report.row(key, {
            ...common,
            metric: 'latency p50',
            figure: 'p50',
            unit: 'ms',
            higherIsBetter: false,
            target: { kind: 'max-delta', value: 0.1 },
          });
          report.row(key, {
            ...common,
            metric: 'latency p99',
            figure: 'p99',
            unit: 'ms',
            higherIsBetter: false,
            target: { kind: 'none' },
          });
        } else {
          report.row(key, {
            ...common,
            metric: 'throughput',
            unit: 'msg/s',
            higherIsBetter: true,
            target: { kind: 'min-ratio', value: 0.8 },
          });
        }
      }
    }
  },
};
