/**
 * The job-store contract: where managed-job records, schedules and paused flags live, and the one
 * place their state changes. Every method that changes a job is ONE atomic transition (DESIGN.md
 * §1b) that checks, in the same step, what it must — incarnation (`nonce`), generation, owner, paused
 * flag, abort request, global concurrency, rate budget — so no crash or race can fall between a check
 * and its write. A Lua script on Redis, one statement or transaction in SQL, a synchronous step in
 * memory.
 *
 * Implementations: `createMemoryJobStore` (memory, synchronous, indexed), `createPortableJobStore`
 * (any `CacheStore`, best effort: atomic `SET NX` steps, no indexes), `RedisJobStore` in
 * `clusterkit/redis` (Lua, one round trip per transition, indexed). An adapter set supplies its own
 * through `ClusterAdapters.jobStore`; createApp uses it, else a portable store over the app's cache
 * store, else memory.
 */
import type { EventQueueAdapter, QueueRecord } from '../event-queue/types.js';
import type { JobRecord } from './envelope.js';
import type { JobCounts, ManagedJobState, RateLimit, ScheduleInfo } from './types.js';

/** Identity of one generation of one incarnation of a job (what a ticket names). */
export interface JobRef {
  readonly id: string;
  /**
   * Incarnation nonce (random per `create`). A ticket of an earlier incarnation of the same id never
   * matches. `''` matches any incarnation (tickets from before nonces existed).
   */
  readonly nonce: string;
  readonly gen: number;
}

/** What `create` answers. `backlog`: waiting jobs of the same handler, this one included. */
export type CreateResult = { created: true; backlog: number } | { created: false; existing: JobRecord };

/**
 * A job's ticket as the event-queue manager would publish it (see `createWithTicket`): the app's
 * event-queue adapter, the physical queue's name there, and the record. Its priority is the job's
 * own; the store demotes it by the handler's backlog the way `physicalPriority` does — one level per
 * doubling beyond `backlogThreshold`, at most `maxPriority` — counting the new job.
 */
export interface PreparedTicket {
  readonly adapter: EventQueueAdapter;
  readonly queue: string;
  readonly record: QueueRecord;
  readonly backlogThreshold: number;
  readonly maxPriority: number;
}

/** A claim: the node that wants to start a generation, and the limits that apply. */
export interface ClaimRequest {
  readonly nodeId: string;
  readonly now: number;
  /** Compare-and-set takeover: succeed only if the generation is active under exactly this (dead) owner. */
  readonly takeOverFrom?: string;
  /** `<plugin>:<queue>:<job>` escaped: the unit of global concurrency and rate limits. */
  readonly handler: string;
  /** Refuse (`busy`) when this many generations of `handler` are active cluster-wide. */
  readonly globalConcurrency?: number;
  /** Count this start against the handler's window; refuse (`rate`) when it is spent. Checked after every other check. */
  readonly rateLimit?: RateLimit;
}

/** What `claim` answers. Only `claimed` changed anything. */
export type ClaimResult =
  /** This node now owns the generation: state `active`, owner, startedAt and attemptsStarted set. */
  | { type: 'claimed'; record: JobRecord; tookOverFrom?: string }
  /** No such job (or another incarnation of its id). */
  | { type: 'missing' }
  /** The ticket's generation is not the record's current one. */
  | { type: 'stale'; record: JobRecord }
  /** The job is completed, failed or cancelled. */
  | { type: 'finished' }
  /** Delayed and not due yet (only on adapters without delay, or clock skew). */
  | { type: 'early'; runAt: number }
  /** Its logical queue is paused. */
  | { type: 'paused' }
  /** Active under `owner` (another node, or a dead one: then claim again with `takeOverFrom`). */
  | { type: 'owned'; owner: string }
  /** `globalConcurrency` generations of the handler are active. */
  | { type: 'busy' }
  /** The rate window is spent; come back in `waitMs`. */
  | { type: 'rate'; waitMs: number };

/** How a finished record is kept: deleted at once, or for `retentionMs`. */
export interface Retention {
  readonly remove: boolean;
  readonly retentionMs: number;
}

/** What `cancel` answers. */
export type CancelOutcome =
  | { type: 'cancelled'; record: JobRecord }
  /** Active: with `abortActive` the abort request is now on the record (for this generation only). */
  | { type: 'abort-requested'; record: JobRecord }
  | { type: 'active' | 'completed' | 'failed' | 'not_found' };

/** What `retry` answers. */
export type RetryOutcome =
  { type: 'retried'; record: JobRecord } | { type: 'not_found' | 'waiting' | 'delayed' | 'active' | 'completed' };

/** What `discard` answers (`managedQueue.remove`). */
export type DiscardOutcome =
  | { type: 'removed'; record: JobRecord }
  /** Its handler runs: not removed (cancel it with `abortActive` first). */
  | { type: 'active' | 'not_found' };

/** What `promote` answers. */
export type PromoteOutcome =
  | { type: 'promoted'; record: JobRecord }
  /** Not delayed (any more): the state it is in as readers see it. */
  | { type: 'not_found' | 'waiting' | 'active' | 'completed' | 'failed' | 'cancelled' };

/** Which jobs a read covers. Unset fields match everything. */
export interface JobFilter {
  readonly pluginName?: string;
  readonly queueName?: string;
  readonly tenantId?: string;
}

/** One row of `queueStats`. */
export interface QueueCountsRow extends JobCounts {
  pluginName: string;
  queueName: string;
  tenantId?: string;
}

/** What a store can do beyond the contract. */
export interface JobStoreCapabilities {
  /** `create` accepts `{ transaction }` and writes inside the caller's transaction. */
  readonly transactions: boolean;
  /** Reads use indexes (their cost grows with the page, not with the number of records). */
  readonly indexed: boolean;
}

/**
 * The contract. All times are epoch ms, given by the caller (`now`) so that every node's clock
 * decides only what it must. Records are {@link JobRecord}s: the store keeps every field, and
 * `ticketPendingSince` (set by `create`/`retry`/a retrying `finish`, cleared by `ticketSent` and
 * `claim`) is what the reconciler reads.
 */
export interface JobStore {
  readonly kind: string;
  readonly capabilities: JobStoreCapabilities;
  connect(): Promise<void>;
  close(): Promise<void>;

  /** Stores a new record unless its id exists (the id dedupe). With `transaction`: inside it (capability). */
  create(record: JobRecord, options?: { transaction?: unknown }): Promise<CreateResult>;
  /**
   * With capability `transactions`: can `create` write inside this transaction object? (Absent:
   * every object is taken.) A store answers false for objects of another kind — a bare
   * `{ afterCommit }` — which the managed queue then writes after commit instead.
   */
  acceptsTransaction?(transaction: unknown): boolean;
  /**
   * Optional: creates `record` and puts its ticket on the event queue as ONE atomic step, where this
   * store and `ticket.adapter` share a backend that allows it (the Redis store and the Redis event
   * queue on one server: one script). Created this way the record is never "ticket pending". Resolves
   * undefined, having written nothing, when it cannot: the caller then creates and publishes in two
   * steps (`create`, publish, `ticketSent`). An existing id is answered as by `create`, and no
   * ticket is added.
   */
  createWithTicket?(record: JobRecord, ticket: PreparedTicket): Promise<CreateResult | undefined>;
  /**
   * The ticket of `ref` is on the physical queue: clears `ticketPendingSince` (and `parkedBy`) if
   * `ref` is still current and the record is parked by `parkedBy` (undefined: not parked) — the
   * park the publish replaces. A park made since (the ticket reached a node and was parked before
   * this confirmation) is kept: that node holds the acknowledged ticket now.
   */
  ticketSent(ref: JobRef, parkedBy?: string): Promise<void>;
  /**
   * A node parks the waiting generation `ref` (its lane is full; it acknowledges the physical ticket):
   * sets `ticketPendingSince = now` and `parkedBy = nodeId`, so the reconciler brings the job back if
   * that node dies. False (nothing written) when `ref` is not a waiting/delayed current generation.
   */
  park(ref: JobRef, nodeId: string, now: number): Promise<boolean>;
  /** Starts a generation: checks incarnation, generation, terminal state, runAt, paused, owner, limits. */
  claim(ref: JobRef, request: ClaimRequest): Promise<ClaimResult>;
  /** Gives a claimed, unstarted generation back (state waiting, no owner). False if `owner` no longer owns it. */
  release(ref: JobRef, owner: string): Promise<boolean>;
  /**
   * Ends an attempt of a generation `owner` owns: writes `next` (completed, failed, cancelled, or the
   * next generation waiting/delayed with `ticketPendingSince`). False, and nothing written, if `owner`
   * no longer owns `ref` (it was taken over); `'unwatched'` (written) see {@link watch}. `next` is
   * the claimed record with its outcome: it differs only in state, gen, runAt, attempts, history,
   * result or failure (returnValue, failedReason, failedCode, stacktrace), finishedAt,
   * ticketPendingSince and the cleared owner/abort request, and a store may write only those.
   */
  finish(ref: JobRef, owner: string, next: JobRecord, retention: Retention): Promise<boolean | 'unwatched'>;
  /**
   * Optional: someone waits for `id` to end (`waitForJob`), for the next `ttlMs`. A store with
   * `watch` answers a `finish` that ends the job (completed, failed, cancelled) with `'unwatched'`
   * when no interest is registered at that moment — in the same atomic step as the write — and the
   * finished-job announcement is then skipped. Without `watch`, every end is announced. A `get`
   * issued right after `watch` (not awaiting it) must see the registration (Redis: one connection).
   */
  watch?(id: string, ttlMs: number): Promise<void>;
  /** Records progress of a generation `owner` owns. */
  setProgress(ref: JobRef, owner: string, progress: number | object): Promise<boolean>;
  /** Appends a handler log line (keeps the last `maxLines`). */
  appendLog(ref: JobRef, owner: string, line: string, maxLines: number): Promise<boolean>;
  /** When a node first saw no processor anywhere for `ref` (set once per generation); undefined if not current. */
  markNoProcessor(ref: JobRef, now: number): Promise<number | undefined>;
  /**
   * Cancels a waiting/delayed job (kept per its `removeOnFail`, else `failedRetentionMs`), or (with
   * `abortActive`) records an abort request on an active one for its current generation.
   */
  cancel(
    id: string,
    options: { abortActive: boolean; now: number; failedRetentionMs: number; tenantId?: string },
  ): Promise<CancelOutcome>;
  /** Runs a failed or cancelled job again: next generation, waiting, fresh attempt budget, ticket pending. */
  retry(id: string, options: { now: number; tenantId?: string }): Promise<RetryOutcome>;
  /** Deletes a record (and its logs); true when it existed. */
  remove(id: string): Promise<boolean>;
  /**
   * Deletes a job that is not running (`managedQueue.remove`), with its logs, in the same step that
   * checks its state: an active one is refused, so a removal never races a node starting the job
   * (a waiting/delayed job's ticket then finds nothing and is dropped).
   */
  discard(id: string, options: { tenantId?: string }): Promise<DiscardOutcome>;
  /**
   * Runs a delayed job now (`managedQueue.promote`): its next generation, `waiting` from `now`, ticket
   * pending (the caller publishes it; the reconciler does if the caller dies first). The delayed
   * generation's ticket becomes stale and is dropped when it comes due. Attempts are kept.
   */
  promote(id: string, options: { now: number; tenantId?: string }): Promise<PromoteOutcome>;

  get(id: string): Promise<JobRecord | undefined>;
  getLogs(id: string): Promise<string[]>;
  /** Newest first (by enqueue time); `state` as readers see it (a due `delayed` job is `waiting`). */
  list(
    filter: JobFilter & { state?: ManagedJobState; offset: number; limit: number },
    now: number,
  ): Promise<{ records: JobRecord[]; total: number }>;
  counts(filter: JobFilter, now: number): Promise<JobCounts>;
  queueStats(filter: JobFilter, now: number): Promise<QueueCountsRow[]>;
  /** Deletes finished records of `state` finished at or before `finishedBefore`; returns how many. */
  clean(
    options: JobFilter & { state: 'completed' | 'failed' | 'cancelled'; finishedBefore: number; limit: number },
  ): Promise<number>;
  /** Records whose ticket has been pending since at or before `before` (oldest first). */
  pendingTickets(before: number, limit: number): Promise<JobRecord[]>;
  /** Deletes finished records whose retention ended at or before `now`; returns how many (no-op where TTLs do it). */
  sweep(now: number, limit: number): Promise<number>;

  setPaused(pluginName: string, queueName: string, paused: boolean): Promise<void>;
  /** `handlerKey`-style `<plugin>:<queue>` (escaped) of every paused logical queue. */
  pausedQueues(): Promise<string[]>;

  /** Stores a schedule; refuses (`TENANT_MISMATCH`) to replace one owned by another plugin or tenant. Keeps `lastTick`. */
  saveSchedule(info: ScheduleInfo): Promise<void>;
  listSchedules(): Promise<ScheduleInfo[]>;
  /** Removes a schedule; false when none (or, with `tenantId`, another tenant's). */
  removeSchedule(scheduleId: string, tenantId?: string): Promise<boolean>;
  /** Records that `tick`'s job exists (monotonic); false when the schedule is gone or a later tick is recorded. */
  markTick(scheduleId: string, tick: number): Promise<boolean>;
}

/** Builds an app's job store (an adapter set's `jobStore`). */
export type JobStoreFactory = (context: { readonly appName: string }) => JobStore;

/** `<plugin>:<queue>` with both parts escaped: how paused queues are named. */
export { logicalQueueKey } from './scoped-key.js';
