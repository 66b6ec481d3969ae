/**
 * The managed-job suites on RabbitMQ + Redis: the physical queue and pub/sub on RabbitMQ (quorum
 * queues, and classic queues for priority), locks and the cache store (job records, schedules,
 * rate limits) on Redis — the mixed deployment DESIGN.md describes.
 */
import { createRabbitMQAdapters } from 'clusterkit/rabbitmq';
import { createRedisAdapters } from 'clusterkit/redis';
import { silentLogger } from 'clusterkit';
import { afterAll, describe, it } from 'vitest';
import type { ClusterFactory } from '../conformance/cluster.js';
import { clusterFactory } from '../conformance/make-cluster.js';
import { deleteTopology, resolveAmqpUrl } from '../conformance/rabbitmq-factory.js';
import { deleteRedisPrefix, resolveRedisUrl } from '../conformance/redis-factory.js';
import { randomName } from '../helpers.js';
import { managedJobSuites } from './managed-jobs.suite.js';

const amqp = await resolveAmqpUrl();
const redis = await resolveRedisUrl();

/** RabbitMQ for the event queue and pub/sub, Redis for locks and cache; cleanup removes both. */
function mixedFactory(
  label: string,
  amqpUrl: string,
  redisUrl: string,
  queueType: 'quorum' | 'classic',
): ClusterFactory {
  return clusterFactory(label, () => {
    const prefix = randomName('ckm');
    const made: ReturnType<typeof createRabbitMQAdapters>[] = [];
    return {
      adapters() {
        const rabbit = createRabbitMQAdapters({ logger: silentLogger, url: amqpUrl, prefix, queueType });
        made.push(rabbit);
        const { lock, cache, jobStore, managedJobEngine } = createRedisAdapters({
          url: redisUrl,
          prefix,
          onError: () => {},
        });
        // Redis's native engine is passed along: the pairing rule (its event queue is not the app's)
        // keeps managed jobs on the record engine, tickets on RabbitMQ — which every case here checks.
        return { eventQueue: rabbit.eventQueue, pubSub: rabbit.pubSub, lock, cache, jobStore, managedJobEngine };
      },
      async cleanup() {
        const queues = new Set<string>();
        const exchanges = new Set<string>();
        for (const { eventQueue, pubSub } of made) {
          for (const name of eventQueue.touchedQueues) queues.add(name);
          queues.add(pubSub.nodeQueue);
          exchanges.add(pubSub.exchange);
        }
        await deleteTopology(amqpUrl, queues, exchanges);
        await deleteRedisPrefix({ url: redisUrl }, prefix);
      },
    };
  });
}

if ('skip' in amqp || 'skip' in redis) {
  const why = 'skip' in amqp ? amqp.skip : 'skip' in redis ? redis.skip : '';
  describe.skip(`managed jobs on rabbitmq + redis (skipped: ${why})`, () => {
    it('needs RabbitMQ and Redis', () => {});
  });
} else {
  afterAll(async () => {
    await amqp.stop?.();
    await redis.stop?.();
  });
  managedJobSuites(mixedFactory('rabbitmq + redis', amqp.url, redis.url, 'quorum'));
  managedJobSuites(mixedFactory('rabbitmq classic + redis', amqp.url, redis.url, 'classic'));
}
