/**
 * A BullMQ worker that starts each job as soon as it has fetched it. BullMQ's main loop fetches jobs
 * one after another (one `moveToActive` round trip each) until it holds `concurrency` of them, and
 * only then starts the first — unless a delayed job is pending (`blockUntil` set), in which case it
 * starts every job right after fetching it. When a worker wakes to many ready jobs (a burst of
 * delayed messages coming due, a backlog when the consumer opens), the first handler therefore
 * started after `concurrency` sequential round trips: with concurrency 50, 15–75 ms after the
 * wake-up on the bench machine. Here every fetched job makes the loop take BullMQ's own "start this
 * one first" branch, so the first start costs one round trip; the fetches still go one at a time,
 * so the load on Redis is unchanged.
 *
 * The branch is taken by setting the worker's `blockUntil` to a past time (epoch 1 ms). Any value in
 * the past means "no wait": the next fetch that finds nothing blocks as before (`getBlockTimeout`
 * returns a non-positive timeout, `waitForJob` returns at once, and `moveToActive` then sets the real
 * next delayed time). When the installed BullMQ has no such field, nothing is changed.
 */
import type { Job } from 'bullmq';
import { TolerantWorker } from './tolerant-job.js';

/** A `blockUntil` in the past: "a job is ready now", which makes BullMQ's main loop start it. */
const PAST = 1;

/** A {@link TolerantWorker} that starts each fetched job before fetching the next; see the module comment. */
export class EagerWorker extends TolerantWorker {
  protected override async moveToActive(token: string, name?: string): Promise<Job> {
    const job = await super.moveToActive(token, name);
    const self = this as unknown as { blockUntil?: unknown };
    if (job && self.blockUntil === 0) self.blockUntil = PAST;
    return job;
  }
}
