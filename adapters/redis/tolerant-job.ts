/**
 * BullMQ classes that survive a job hash whose `data` field is not JSON (written by something other
 * than BullMQ, or corrupted). BullMQ parses `data` whenever it loads a job; a parse error on fetch
 * leaves the job active until it stalls back to waiting, forever, and breaks every listing of its
 * set. Here the raw text becomes the job's data (a string, like every body clusterkit stores), so
 * the manager sees a malformed body and dead-letters it with the reason, and listings keep working.
 */
import { Job, Queue, Worker, type JobJson } from 'bullmq';

/** A BullMQ `Job` whose `fromJSON` falls back to the raw `data` text. */
export class TolerantJob extends Job {
  static override fromJSON<T = any, R = any, N extends string = string>(
    queue: Parameters<typeof Job.fromJSON>[0],
    json: JobJson,
    jobId?: string,
  ): Job<T, R, N> {
    try {
      return super.fromJSON<T, R, N>(queue, json, jobId);
    } catch {
      return super.fromJSON<T, R, N>(queue, { ...json, data: JSON.stringify(String(json.data ?? '')) }, jobId);
    }
  }
}

/** A BullMQ `Queue` that loads jobs as {@link TolerantJob}. */
export class TolerantQueue extends Queue {
  protected override get Job(): typeof Job {
    return TolerantJob as unknown as typeof Job;
  }
}

/** A BullMQ `Worker` that loads jobs as {@link TolerantJob}. */
export class TolerantWorker extends Worker {
  protected override get Job(): typeof Job {
    return TolerantJob as unknown as typeof Job;
  }
}
