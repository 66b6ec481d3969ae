/** Every benchmark case, in the order `npm run bench` runs them. */
import type { BenchCase } from '../lib/case.js';
import { lockContended } from './lock-contended.js';
import { lockSequential } from './lock-sequential.js';
import { pubsub } from './pubsub.js';
import { rabbitmqEventQueueThroughput } from './rabbitmq-event-queue-throughput.js';
import { redisDelayedLateness } from './redis-delayed-lateness.js';
import { redisEventQueueLatency } from './redis-event-queue-latency.js';
import { redisEventQueueThroughput } from './redis-event-queue-throughput.js';

/** The registered cases. */
export const cases: readonly BenchCase[] = [
  redisEventQueueThroughput,
  redisEventQueueLatency,
  redisDelayedLateness,
  rabbitmqEventQueueThroughput,
  lockSequential,
  lockContended,
  pubsub,
];
