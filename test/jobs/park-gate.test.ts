/**
 * The park gate of one node (src/jobs/park-gate.ts): at most `limit` parks in flight, the next turn to
 * the waiting lane with the fewest parked jobs, withdrawn requests, and everything let through at stop.
 */
import { describe, expect, it } from 'vitest';
import { ParkGate } from '../../src/jobs/park-gate.js';
import { Registration } from '../../src/jobs/registration.js';
import type { JobEnvelope } from '../../src/jobs/envelope.js';

const lane = (jobName: string) =>
  new Registration({ pluginName: 'p', queueName: 'q', jobName, concurrency: 1 }, () => undefined);
const ticket = (jobId: string) => ({ jobId, priority: 0, enqueuedAt: 0 }) as unknown as JobEnvelope;

describe('park gate', () => {
  it('grants `limit` turns at once and passes each released turn to the lane with the fewest parked jobs', async () => {
    const gate = new ParkGate(1);
    const backlog = lane('backlog');
    const other = lane('other');
    for (let i = 0; i < 5; i += 1) backlog.park(ticket(`b${i}`));
    const granted: string[] = [];
    await gate.acquire(backlog).ready;
    const waits = [
      gate.acquire(backlog).ready.then(() => granted.push('backlog')),
      gate.acquire(other).ready.then(() => granted.push('other')),
    ];
    expect(gate.waiting).toBe(2);
    gate.release();
    await waits[1];
    gate.release();
    await waits[0];
    expect(granted).toEqual(['other', 'backlog']);
    gate.release();
    // All turns are back: the next request is granted at once.
    await gate.acquire(other).ready;
  });

  it('withdraws a request not yet granted; openAll lets every waiter through', async () => {
    const gate = new ParkGate(1);
    const a = lane('a');
    await gate.acquire(a).ready;
    const withdrawn = gate.acquire(a);
    expect(withdrawn.cancel()).toBe(true);
    const waiting = gate.acquire(a);
    expect(gate.waiting).toBe(1);
    gate.openAll();
    await waiting.ready;
    expect(waiting.cancel()).toBe(false); // already granted: the holder releases it
    expect(gate.waiting).toBe(0);
    await gate.acquire(a).ready; // open: no bound until close()
  });
});
