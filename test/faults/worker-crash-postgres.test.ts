/** Worker crash on PostgreSQL (lapsed leases come back to the queue): see worker-crash.ts. */
import { describe } from 'vitest';
import { workerCrashCase } from './worker-crash.js';

describe('faults: worker crash (PostgreSQL)', () => {
  workerCrashCase('postgres');
});
