/**
 * `globalConcurrency` across two nodes when the bookkeeping of a running job's slot is lost (issue 13,
 * defect 8): with lease-backed slots, a slot whose lease could not be extended was freed while its job
 * kept running, and another node started a job over the limit. Slots are now the active jobs counted
 * inside the claim transition, so nothing outside the job store can free one. The fault is injected by
 * deleting, every few ms, every key under the cluster's prefix that names a concurrency slot.
 */
import { createRabbitMQAdapters } from 'clusterkit/rabbitmq';
import { createRedisAdapters } from 'clusterkit/redis';
import { silentLogger, type ClusterAdapters } from 'clusterkit';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { clusterFactory } from '../conformance/make-cluster.js';
import { deleteTopology, resolveAmqpUrl } from '../conformance/rabbitmq-factory.js';
import { deleteRedisPrefix, resolveRedisUrl } from '../conformance/redis-factory.js';
import { counter, randomName, within } from '../helpers.js';
import { startNode } from './jobs-helpers.js';

const redis = await resolveRedisUrl();
const amqp = await resolveAmqpUrl();

function factory(label: string, withRabbit: boolean) {
  if ('skip' in redis) throw new Error(redis.skip);
  const redisUrl = redis.url;
  let prefix = '';
  const made = clusterFactory(label, () => {
    prefix = randomName('ckg');
    const rabbits: ReturnType<typeof createRabbitMQAdapters>[] = [];
    return {
      adapters(): ClusterAdapters {
        const r = createRedisAdapters({ url: redisUrl, prefix, onError: () => {} });
        if (!withRabbit || 'skip' in amqp) return r;
        const rabbit = createRabbitMQAdapters({ logger: silentLogger, url: amqp.url, prefix, queueType: 'classic' });
        rabbits.push(rabbit);
        return { ...r, eventQueue: rabbit.eventQueue, pubSub: rabbit.pubSub };
      },
      async cleanup() {
        if (!('skip' in amqp)) {
          const queues = new Set<string>();
          const exchanges = new Set<string>();
          for (const { eventQueue, pubSub } of rabbits) {
            for (const name of eventQueue.touchedQueues) queues.add(name);
            queues.add(pubSub.nodeQueue);
            exchanges.add(pubSub.exchange);
          }
          await deleteTopology(amqp.url, queues, exchanges);
        }
        await deleteRedisPrefix({ url: redisUrl }, prefix);
      },
    };
  });
  return { made, prefix: () => prefix };
}

afterAll(async () => {
  if (!('skip' in redis)) await redis.stop?.();
  if (!('skip' in amqp)) await amqp.stop?.();
});

for (const [label, withRabbit] of [
  ['redis', false],
  ['rabbitmq + redis', true],
] as const) {
  describe.skipIf('skip' in redis || (withRabbit && 'skip' in amqp))(`global limits (${label})`, () => {
    it('#8 globalConcurrency is never exceeded across two nodes, even when slot bookkeeping outside the store is lost', async () => {
      const { made, prefix } = factory(label, withRabbit);
      const cluster = made.create();
      const raw = new Redis((redis as { url: string }).url);
      let stop = false;
      try {
        const nodes = [await startNode(cluster), await startNode(cluster)];
        let running = 0;
        let peak = 0;
        const all = counter(8);
        for (const node of nodes) {
          await node.managedQueue.process(
            { pluginName: 'p', queueName: 'q', jobName: 'limited', concurrency: 4, globalConcurrency: 1 },
            async () => {
              running += 1;
              peak = Math.max(peak, running);
              await new Promise((resolve) => setTimeout(resolve, 150)); // simulated work, not synchronization
              running -= 1;
              all.hit();
            },
          );
        }
        // The fault: lease keys of concurrency slots vanish (as when a lease could not be extended).
        const fault = (async () => {
          while (!stop) {
            let cursor = '0';
            do {
              const [next, keys] = await raw.scan(cursor, 'MATCH', `${prefix()}*concurrency*`, 'COUNT', 1000);
              cursor = next;
              if (keys.length > 0) await raw.del(...keys);
            } while (cursor !== '0');
            await new Promise((resolve) => setTimeout(resolve, 5));
          }
        })();
        for (let i = 0; i < 8; i += 1) {
          await nodes[i % 2]!.managedQueue.enqueue({ pluginName: 'p', queueName: 'q', jobName: 'limited', payload: i });
        }

        await within(all.done, 30_000, 'eight jobs');
        stop = true;
        await fault;
        expect(peak).toBe(1);
      } finally {
        stop = true;
        raw.disconnect();
        await cluster.dispose();
      }
    });
  });
}
