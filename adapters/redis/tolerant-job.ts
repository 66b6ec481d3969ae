/**
 * The BullMQ job, queue and worker classes of the event queue.
 *
 * - **Reading.** A job's `data` is the message body as a string, from either stored shape (see
 *   `job-shape.ts`): BullMQ's own `JSON.parse` of `data` is skipped, so a body stored as it is costs
 *   no parse, and a hash whose `data` is not JSON (written by something else, or corrupted) still
 *   loads — the manager sees a malformed body and dead-letters it with the reason, where BullMQ
 *   would leave the job active until it stalled back to waiting, forever, and break every listing.
 * - **Retrying.** Whether a failed attempt is retried, and after how long, is the manager's
 *   decision, carried by the error the consumer throws ({@link RetryLater}): the job class answers
 *   BullMQ's retry question itself, so jobs need no `attempts`/`backoff` options (older jobs carry
 *   `attempts: 1e9` and a custom backoff type, which come to the same answer).
 * - **Writing.** {@link StoredJob} stores its body with {@link storedData} and only the options given.
 */
import { Job, Queue, UnrecoverableError, Worker, type JobJson, type JobsOptions } from 'bullmq';
import { bodyFromStored, storedData } from './job-shape.js';

/** The error a `retry` outcome throws: the attempt counts, and the job is due again after `delayMs`. */
export class RetryLater extends Error {
  override readonly name = 'RetryLater';
  constructor(
    readonly delayMs: number,
    message: string,
  ) {
    super(message);
  }
}

/**
 * BullMQ's retry decision for our jobs: every failure is retried (after the delay a {@link RetryLater}
 * names, at once otherwise) except an `UnrecoverableError` — the manager's "dead", or BullMQ's own
 * failure of a job that stalled too often. The same answers as `attempts: 1e9` with a backoff
 * strategy returning the manager's delay, without storing either on every job.
 */
export function retryDecision(error: Error): [boolean, number] {
  if (error instanceof UnrecoverableError || error.name === 'UnrecoverableError') return [false, 0];
  return [true, error instanceof RetryLater ? error.delayMs : 0];
}

/** A BullMQ `Job` reading `data` as the stored body (see the module comment). */
export class TolerantJob extends Job {
  static override fromJSON<T = any, R = any, N extends string = string>(
    queue: Parameters<typeof Job.fromJSON>[0],
    json: JobJson,
    jobId?: string,
  ): Job<T, R, N> {
    const data = json.data;
    // `json` is the reply BullMQ just converted for this call: reusing it saves a copy per job.
    (json as { data: string }).data = '0';
    const job = super.fromJSON<T, R, N>(queue, json, jobId);
    job.data = bodyFromStored(data) as T;
    return job;
  }
}

// BullMQ's `shouldRetryJob` is private in its typings; it is what `moveToFailed` asks.
(TolerantJob.prototype as unknown as { shouldRetryJob(error: Error): Promise<[boolean, number]> }).shouldRetryJob =
  async function shouldRetryJob(error: Error) {
    return retryDecision(error);
  };

/**
 * True when the installed BullMQ asks the job class whether to retry (`shouldRetryJob`), so jobs
 * may be stored without `attempts`/`backoff`.
 */
export function retriesDecidedByJob(): boolean {
  return typeof (Job.prototype as unknown as { shouldRetryJob?: unknown }).shouldRetryJob === 'function';
}

/** A job to add: `data` is the body as {@link storedData} stores it, and only the options given are stored. */
export class StoredJob extends TolerantJob {
  private readonly body: string;

  constructor(queue: Queue, body: string, opts: JobsOptions, timestamp: number, jobId?: string) {
    super(queue, 'm', undefined, opts, jobId);
    this.timestamp = timestamp;
    this.body = body;
  }

  override asJSON(): JobJson {
    const json = { name: this.name, data: storedData(this.body), opts: this.opts, timestamp: this.timestamp };
    return (this.id === undefined ? json : { id: this.id, ...json }) as unknown as JobJson;
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
