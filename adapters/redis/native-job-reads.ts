/**
 * The native engine's reads and its cancel call (native-job-engine.ts): a job read in one pipelined
 * round trip — its hash, its log and the BullMQ sets that tell its state — and the cancel script
 * (native-scripts.ts) with its keys.
 */
import type { CancelResult, JobRecord, ManagedJobState } from 'clusterkit/adapter-kit';
import { JobCancelledError } from 'clusterkit/adapter-kit';
import type { RedisClient } from './connection.js';
import { fieldsOfHash, recordOf, type HandlerName } from './native-job-shape.js';

/** Where a job lives. */
export interface Located {
  readonly handler: HandlerName;
  readonly bullId: string;
  /** BullMQ's key prefix of the job's queue: `<prefix>:q:{<queue>}:`. */
  readonly keyPrefix: string;
}

/** The job `jobId` at `at` as a record with its log lines; null when it does not exist. */
export async function readNativeJob(
  client: RedisClient,
  jobId: string,
  at: Located,
): Promise<{ record: JobRecord; logs: string[] } | null> {
  const key = at.keyPrefix + at.bullId;
  const replies = await client
    .pipeline()
    .hgetall(key)
    .lrange(`${key}:logs`, 0, -1)
    .zscore(`${at.keyPrefix}completed`, at.bullId)
    .zscore(`${at.keyPrefix}failed`, at.bullId)
    .zscore(`${at.keyPrefix}delayed`, at.bullId)
    .lpos(`${at.keyPrefix}active`, at.bullId)
    .exec();
  const [hash, logs, completed, failed, delayed, active] = (replies ?? []).map(([error, value]) => {
    if (error) throw error;
    return value;
  }) as [Record<string, string>, string[], string | null, string | null, string | null, number | null];
  const fields = fieldsOfHash(hash);
  if (!fields) return null;
  let state: ManagedJobState = 'waiting';
  if (completed !== null) state = 'completed';
  else if (failed !== null) state = fields.aborted ? 'cancelled' : 'failed';
  else if (active !== null) state = 'active';
  else if (delayed !== null) state = 'delayed';
  const record = recordOf(jobId, at.handler, state, fields);
  // BullMQ's delayed score is the due time × 4096 (+ a counter).
  if (delayed !== null) record.runAt = Math.floor(Number(delayed) / 4096);
  return { record, logs };
}

/** Runs the cancel script (defined on `client` as `ckNativeCancel`) for the job at `at`. */
export async function cancelScript(
  client: RedisClient,
  at: Located,
  jobId: string,
  abortActive: boolean,
  finishedChannel: string,
): Promise<CancelResult['reason'] | 'cancelled' | 'abort'> {
  const p = at.keyPrefix;
  const sets = ['wait', 'paused', 'prioritized', 'delayed', 'active', 'completed', 'failed'];
  const commands = client as unknown as { ckNativeCancel(...args: unknown[]): Promise<string> };
  return (await commands.ckNativeCancel(
    p + at.bullId,
    ...sets.map((set) => p + set),
    at.bullId,
    Date.now(),
    abortActive ? '1' : '0',
    finishedChannel,
    new JobCancelledError(jobId).message,
  )) as CancelResult['reason'] | 'cancelled' | 'abort';
}
