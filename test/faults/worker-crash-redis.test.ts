/** Worker crash on Redis (BullMQ stalled-job recovery): see worker-crash.ts. */
import { describe } from 'vitest';
import { workerCrashCase } from './worker-crash.js';

describe('faults: worker crash (Redis)', () => {
  workerCrashCase('redis');
});
