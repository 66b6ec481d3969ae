/**
 * The native engine's reads and its cancel call (native-job-engine.ts): a job read in one pipelined
 * round trip — its hash, its log and the BullMQ sets that tell its state — and the cancel script
 * (native-scripts.ts) with its keys.
 */
import type {
  CancelResult,
  JobRecord,
  ManagedJobState,
  PromoteResult,
  RemoveResult,
  RetryResult,
} from 'clusterkit/adapter-kit';
import { Job, type Queue } from 'bullmq';
import { escapeKeyPart, JobCancelledError } from 'clusterkit/adapter-kit';
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
  return (await readNativeJobs(client, [{ jobId, at }]))[0]!;
}

/** Several jobs (of one handler queue: one hash slot) as {@link readNativeJob} reads one, in ONE pipelined round trip. */
export async function readNativeJobs(
  client: RedisClient,
  jobs: readonly { jobId: string; at: Located }[],
): Promise<({ record: JobRecord; logs: string[] } | null)[]> {
  if (jobs.length === 0) return [];
  const pipeline = client.pipeline();
  for (const { at } of jobs) {
    const key = at.keyPrefix + at.bullId;
    pipeline
      .hgetall(key)
      .lrange(`${key}:logs`, 0, -1)
      .zscore(`${at.keyPrefix}completed`, at.bullId)
      .zscore(`${at.keyPrefix}failed`, at.bullId)
      .zscore(`${at.keyPrefix}delayed`, at.bullId)
      .lpos(`${at.keyPrefix}active`, at.bullId);
  }
  const replies = ((await pipeline.exec()) ?? []).map(([error, value]) => {
    if (error) throw error;
    return value;
  });
  return jobs.map(({ jobId, at }, i) => {
    const [hash, logs, completed, failed, delayed, active] = replies.slice(i * 6, i * 6 + 6) as [
      Record<string, string>,
      string[],
      string | null,
      string | null,
      string | null,
      number | null,
    ];
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
  });
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

/** What the operator calls need: the job's queue, its location, the client, the finished channel. */
export interface OperateDeps {
  readonly client: RedisClient;
  readonly queue: Queue;
  readonly at: Located;
  readonly jobId: string;
  readonly finishedChannel: string;
}

/**
 * `retry`: a failed or cancelled job goes back to wait with `attemptsMade` reset (BullMQ's
 * `job.retry('failed', { resetAttemptsMade })`; its attempt history and `attemptsStarted` go on).
 */
export async function retryNativeJob(d: OperateDeps): Promise<RetryResult> {
  const found = await readNativeJob(d.client, d.jobId, d.at);
  if (!found) return { success: false, reason: 'not_found' };
  const state = found.record.state;
  if (state !== 'failed' && state !== 'cancelled') return { success: false, reason: state };
  const job = await Job.fromId(d.queue, d.at.bullId);
  if (!job) return { success: false, reason: 'not_found' };
  // A cancelled job's mark goes first: its next end must not read as cancelled.
  await d.client
    .multi()
    .hdel(d.at.keyPrefix + d.at.bullId, 'ab', 'fc')
    .zrem(`${d.at.keyPrefix}ck:cancelled`, d.at.bullId)
    .exec();
  try {
    await job.retry('failed', { resetAttemptsMade: true });
  } catch {
    // Another retry moved it first.
    return { success: false, reason: 'already_retried' };
  }
  return { success: true };
}

/** `remove`: deletes a job that is not running (BullMQ refuses a locked one); tells its waiters. */
export async function removeNativeJob(d: OperateDeps): Promise<RemoveResult> {
  const found = await readNativeJob(d.client, d.jobId, d.at);
  if (!found) return { success: false, reason: 'not_found' };
  if (found.record.state === 'active') return { success: false, reason: 'active' };
  const jobKey = d.at.keyPrefix + d.at.bullId;
  // Its waiters' marks say "removed" before it goes (a mark only counts once the job is gone), so a
  // crash before the announcement below still has them answer "was removed" at their deadline.
  await d.client.eval(REMOVED_LUA, 1, `${jobKey}:w`, d.at.bullId, '', jobKey);
  if ((await d.queue.remove(d.at.bullId)) !== 1) return { success: false, reason: 'active' };
  // Out of the engine's indexes (native-query-scripts.ts) at once rather than at the next read.
  const tenantId = found.record.tenantId;
  const keys = [`${jobKey}:w`, `${d.at.keyPrefix}ck:cancelled`];
  if (tenantId !== undefined) keys.push(`${d.at.keyPrefix}ck:tenant:${escapeKeyPart(tenantId)}`);
  await d.client.eval(REMOVED_LUA, keys.length, ...keys, d.at.bullId, d.finishedChannel, jobKey);
  return { success: true };
}

/**
 * A removed job's waiters (native-wait.ts): its watch mark, if any, says `["removed"]` (TTL kept)
 * and, with a channel, the job key is announced with that end (or alone when nobody watches); the
 * job leaves the engine's other indexes given. KEYS: watch mark, then indexes (sorted sets). ARGV:
 * BullMQ job id, finished channel ('' = announce nothing), job key.
 */
const REMOVED_LUA = `
local watched = redis.call('EXISTS', KEYS[1]) == 1
if watched then redis.call('SET', KEYS[1], '["removed"]', 'KEEPTTL') end
if ARGV[2] ~= '' then
  if watched then redis.call('PUBLISH', ARGV[2], ARGV[3] .. '\\n["removed"]')
  else redis.call('PUBLISH', ARGV[2], ARGV[3]) end
end
for i = 2, #KEYS do redis.call('ZREM', KEYS[i], ARGV[1]) end
return 1
`;

/** `promote`: a delayed job runs now (BullMQ's promote); otherwise the state it is in. */
export async function promoteNativeJob(d: OperateDeps): Promise<PromoteResult> {
  const found = await readNativeJob(d.client, d.jobId, d.at);
  if (!found) return { success: false, reason: 'not_found' };
  if (found.record.state !== 'delayed') return { success: false, reason: found.record.state };
  const job = await Job.fromId(d.queue, d.at.bullId);
  if (!job) return { success: false, reason: 'not_found' };
  try {
    await job.promote();
    return { success: true };
  } catch {
    const now = await readNativeJob(d.client, d.jobId, d.at);
    if (!now) return { success: false, reason: 'not_found' };
    return { success: false, reason: now.record.state === 'delayed' ? 'waiting' : now.record.state };
  }
}
