/** Every benchmark case, in the order `npm run bench` runs them (service-bound first, in-process last). */
import type { BenchCase } from '../lib/case.js';
import { cacheWrap } from './cache-wrap.js';
import { headOfLine } from './head-of-line.js';
import { jobReads } from './job-reads.js';
import { lockContended } from './lock-contended.js';
import { lockSequential } from './lock-sequential.js';
import { managedQueueThroughput } from './managed-queue-throughput.js';
import { memoryEventQueueThroughput } from './memory-event-queue-throughput.js';
import { memoryFootprint } from './memory-footprint.js';
import { postgresEventQueueLatency } from './postgres-event-queue-latency.js';
import { postgresEventQueueThroughput } from './postgres-event-queue-throughput.js';
import { postgresLocks } from './postgres-locks.js';
import { postgresTableSize } from './postgres-table-size.js';
import { pubsub } from './pubsub.js';
import { rabbitmqEventQueueThroughput } from './rabbitmq-event-queue-throughput.js';
import { redisDelayedLateness } from './redis-delayed-lateness.js';
import { redisEventQueueLatency } from './redis-event-queue-latency.js';
import { redisEventQueueThroughput } from './redis-event-queue-throughput.js';
import { redisScaleOut } from './redis-scale-out.js';

/** The registered cases. */
export const cases: readonly BenchCase[] = [
  redisEventQueueThroughput,
  redisEventQueueLatency,
  redisDelayedLateness,
  redisScaleOut,
  managedQueueThroughput,
  headOfLine,
  jobReads,
  rabbitmqEventQueueThroughput,
  postgresEventQueueThroughput,
  postgresEventQueueLatency,
  postgresLocks,
  postgresTableSize,
  lockSequential,
  lockContended,
  pubsub,
  cacheWrap,
  memoryEventQueueThroughput,
  memoryFootprint,
];
