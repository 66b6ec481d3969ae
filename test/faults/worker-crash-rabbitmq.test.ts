/** Worker crash on RabbitMQ (unacked messages return to the queue when the connection dies): see worker-crash.ts. */
import { describe } from 'vitest';
import { workerCrashCase } from './worker-crash.js';

describe('faults: worker crash (RabbitMQ)', () => {
  workerCrashCase('rabbitmq');
});
