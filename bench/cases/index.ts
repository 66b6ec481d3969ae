/** Every benchmark case, in the order `npm run bench` runs them (cheap and memory-only cases last). */
import type { BenchCase } from '../lib/case.js';
import { redisEventQueueThroughput } from './redis-event-queue-throughput.js';

/** The registered cases. */
export const cases: readonly BenchCase[] = [redisEventQueueThroughput];
