/**
 * The rules of each job-store transition, as pure functions over a record: what `claim`, `release`,
 * `cancel` and `retry` check and what they change. The memory store runs them synchronously inside
 * one step; the portable store runs them between its atomic `SET NX` steps; the Redis store's Lua
 * scripts (adapters/redis/lua/job-scripts.ts) implement the same rules, and the job-store contract
 * suite (test/jobs/job-store.suite.ts) holds every store to them.
 */
import { isTerminal, MAX_HISTORY, visibleState, type JobRecord } from './envelope.js';
import type {
  CancelOutcome,
  ClaimRequest,
  ClaimResult,
  DiscardOutcome,
  JobFilter,
  JobRef,
  PromoteOutcome,
  Retention,
  RetryOutcome,
} from './job-store.js';
import type { JobCounts } from './types.js';

/** Does `record` hold the incarnation `ref` names? (`''` names any.) */
export function sameIncarnation(record: JobRecord | undefined, ref: JobRef): record is JobRecord {
  return record !== undefined && (ref.nonce === '' || record.nonce === '' || record.nonce === ref.nonce);
}

/** What a claim needs to know beyond the record, answered inside the same atomic step. */
export interface ClaimEnvironment {
  isPaused(record: JobRecord): boolean;
  activeCount(handler: string): number;
  /** Counts a start against `limit`; returns 0 when allowed, else ms until the window ends (nothing counted). */
  takeRate(handler: string, limit: NonNullable<ClaimRequest['rateLimit']>, now: number): number;
}

/**
 * Decides a claim and, when it succeeds, changes `record` in place (active, owner, attempt started).
 * Order: incarnation → finished → generation → owner/takeover → not yet due → paused → global
 * concurrency → rate limit (last, so nothing that is turned away spends budget).
 */
export function decideClaim(
  record: JobRecord | undefined,
  ref: JobRef,
  request: ClaimRequest,
  env: ClaimEnvironment,
): ClaimResult {
  if (!sameIncarnation(record, ref)) return { type: 'missing' };
  if (isTerminal(record.state)) return { type: 'finished' };
  if (record.gen !== ref.gen) return { type: 'stale', record };
  if (record.state === 'active') {
    const owner = record.owner ?? '';
    if (request.takeOverFrom === undefined || request.takeOverFrom !== owner) return { type: 'owned', owner };
    const last = record.history.at(-1);
    if (last && last.finishedAt === undefined) {
      last.finishedAt = request.now;
      last.outcome = 'lost';
      last.error = { message: `node ${owner} stopped while running this attempt` };
    }
    startAttempt(record, request.nodeId, request.now);
    return { type: 'claimed', record, tookOverFrom: owner };
  }
  if (record.runAt > request.now) return { type: 'early', runAt: record.runAt };
  if (env.isPaused(record)) return { type: 'paused' };
  if (request.globalConcurrency !== undefined && env.activeCount(request.handler) >= request.globalConcurrency) {
    return { type: 'busy' };
  }
  if (request.rateLimit !== undefined) {
    const waitMs = env.takeRate(request.handler, request.rateLimit, request.now);
    if (waitMs > 0) return { type: 'rate', waitMs };
  }
  startAttempt(record, request.nodeId, request.now);
  return { type: 'claimed', record };
}

function startAttempt(record: JobRecord, nodeId: string, now: number): void {
  record.state = 'active';
  record.owner = nodeId;
  record.startedAt = now;
  record.attemptsStarted += 1;
  delete record.ticketPendingSince;
  delete record.noProcessorSince;
  delete record.parkedBy;
  const attempt = (record.history.at(-1)?.attempt ?? 0) + 1;
  record.history = [...record.history, { attempt, node: nodeId, startedAt: now }].slice(-MAX_HISTORY);
}

/** Parks a waiting generation (see `JobStore.park`); false when `ref` is not a waiting current generation. */
export function applyPark(
  record: JobRecord | undefined,
  ref: JobRef,
  nodeId: string,
  now: number,
): record is JobRecord {
  if (!sameIncarnation(record, ref) || record.gen !== ref.gen) return false;
  if (record.state !== 'waiting' && record.state !== 'delayed') return false;
  record.ticketPendingSince = now;
  record.parkedBy = nodeId;
  return true;
}

/** Fixed-window rate check shared by the stores: window = floor(now / durationMs). */
export function rateWindow(limit: { durationMs: number }, now: number): { window: number; endsInMs: number } {
  const window = Math.floor(now / limit.durationMs);
  return { window, endsInMs: Math.max(1, (window + 1) * limit.durationMs - now) };
}

/** Undoes a claim whose attempt never started (state back to waiting/delayed, attempt forgotten). */
export function applyRelease(record: JobRecord, now: number): void {
  record.state = record.runAt > now ? 'delayed' : 'waiting';
  delete record.owner;
  record.attemptsStarted = Math.max(0, record.attemptsStarted - 1);
  const last = record.history.at(-1);
  if (last && last.finishedAt === undefined) record.history = record.history.slice(0, -1);
}

/** Is `record` visible to `tenantId` (undefined: platform caller, sees all)? */
export function visibleTo(record: JobRecord, tenantId: string | undefined): boolean {
  return tenantId === undefined || record.tenantId === tenantId;
}

/**
 * Decides a cancel; on `cancelled` and `abort-requested` changes `record` in place. A waiting or
 * delayed job becomes cancelled; an active one gets an abort request for its current generation.
 */
export function decideCancel(
  record: JobRecord | undefined,
  options: { abortActive: boolean; now: number; tenantId?: string },
): CancelOutcome {
  if (!record || !visibleTo(record, options.tenantId)) return { type: 'not_found' };
  if (record.state === 'cancelled') return { type: 'cancelled', record };
  if (record.state === 'completed' || record.state === 'failed') return { type: record.state };
  if (record.state === 'active') {
    if (!options.abortActive) return { type: 'active' };
    record.abortRequested = true;
    return { type: 'abort-requested', record };
  }
  record.state = 'cancelled';
  record.finishedAt = options.now;
  delete record.ticketPendingSince;
  delete record.parkedBy;
  return { type: 'cancelled', record };
}

/** Decides a retry; on `retried` changes `record` in place (next generation, fresh budget, ticket pending). */
export function decideRetry(record: JobRecord | undefined, options: { now: number; tenantId?: string }): RetryOutcome {
  if (!record || !visibleTo(record, options.tenantId)) return { type: 'not_found' };
  if (record.state !== 'failed' && record.state !== 'cancelled') {
    return { type: record.state === 'active' ? 'active' : record.state === 'completed' ? 'completed' : record.state };
  }
  record.gen += 1;
  record.state = 'waiting';
  record.attemptsMade = 0;
  record.attemptsStarted = 0;
  record.runAt = options.now;
  record.ticketPendingSince = options.now;
  for (const key of [
    'finishedAt',
    'startedAt',
    'failedReason',
    'failedCode',
    'returnValue',
    'noProcessorSince',
    'abortRequested',
    'expiresAt',
    'owner',
    'parkedBy',
  ] as const) {
    delete record[key];
  }
  return { type: 'retried', record };
}

/** Decides an operator removal: any job but a running one. The store deletes the record on `removed`. */
export function decideDiscard(record: JobRecord | undefined, options: { tenantId?: string }): DiscardOutcome {
  if (!record || !visibleTo(record, options.tenantId)) return { type: 'not_found' };
  if (record.state === 'active') return { type: 'active' };
  return { type: 'removed', record };
}

/**
 * Decides a promote; on `promoted` changes `record` in place: the next generation (so the delayed
 * ticket turns stale), waiting from `now`, ticket pending. Attempts and history are kept.
 */
export function decidePromote(
  record: JobRecord | undefined,
  options: { now: number; tenantId?: string },
): PromoteOutcome {
  if (!record || !visibleTo(record, options.tenantId)) return { type: 'not_found' };
  const state = visibleState(record, options.now);
  if (state !== 'delayed') return { type: state };
  record.gen += 1;
  record.state = 'waiting';
  record.runAt = options.now;
  record.ticketPendingSince = options.now;
  // A node parking the delayed generation holds a stale ticket now; the new one is nobody's yet.
  delete record.parkedBy;
  delete record.noProcessorSince;
  return { type: 'promoted', record };
}

/**
 * A cancel as one compare-and-set step of a store that writes whole records: the record to write
 * (an abort request, or the cancelled record with its expiry), or `remove` when the cancelled record
 * is not kept (`removeOnFail: true`), and the outcome to answer. Nothing to write when the job was
 * already cancelled or is past cancelling.
 */
export function planCancel(
  record: JobRecord | undefined,
  options: { abortActive: boolean; now: number; failedRetentionMs: number; tenantId?: string },
): { write?: JobRecord; remove?: boolean; result: CancelOutcome } {
  const before = record?.state;
  const outcome = decideCancel(record, options);
  if (outcome.type === 'abort-requested') return { write: outcome.record, result: outcome };
  if (outcome.type === 'cancelled' && before !== 'cancelled') {
    const retention = failRetention(outcome.record, options.failedRetentionMs);
    if (retention.remove) return { remove: true, result: outcome };
    outcome.record.expiresAt = options.now + retention.retentionMs;
    return { write: outcome.record, result: outcome };
  }
  return { result: outcome };
}

/** How a record is kept once it fails or is cancelled: its `removeOnFail`, else `failedRetentionMs`. */
export function failRetention(record: JobRecord, failedRetentionMs: number): Retention {
  if (record.removeOnFail === true) return { remove: true, retentionMs: 0 };
  return {
    remove: false,
    retentionMs: typeof record.removeOnFail === 'number' ? record.removeOnFail : failedRetentionMs,
  };
}

/** Does a record (or a plugin/queue/tenant row) match a read filter? */
export function matchesFilter(
  job: { pluginName: string; queueName: string; tenantId?: string },
  filter: JobFilter,
): boolean {
  return (
    (filter.pluginName === undefined || job.pluginName === filter.pluginName) &&
    (filter.queueName === undefined || job.queueName === filter.queueName) &&
    (filter.tenantId === undefined || job.tenantId === filter.tenantId)
  );
}

/** The counts of several plugin/queue/tenant rows added up. */
export function sumCounts(rows: readonly JobCounts[]): JobCounts {
  const counts: JobCounts = { waiting: 0, active: 0, completed: 0, failed: 0, delayed: 0 };
  for (const row of rows) for (const key of Object.keys(counts) as (keyof JobCounts)[]) counts[key] += row[key];
  return counts;
}
