/**
 * Public types of the managed plugin-job layer (`app.managedQueue`): what a plugin enqueues, what a
 * handler receives, what operators read back. Names are part of the public contract (DESIGN.md §1).
 */
import type { BackoffOptions } from '../event-queue/backoff.js';

/** Lifecycle of a managed job. `cancelled` is terminal, like `completed` and `failed`. */
export type ManagedJobState = 'waiting' | 'delayed' | 'active' | 'completed' | 'failed' | 'cancelled';

/** What `enqueue` accepts. */
export interface EnqueueInput<T = unknown> {
  /** Owning plugin; jobs, ids and keys are namespaced by it. */
  pluginName: string;
  /** Logical queue inside the plugin (pause/resume and metrics work per logical queue). */
  queueName: string;
  /** Job name; selects the handler (`@PluginJobProcessor({ jobName })`). */
  jobName: string;
  /** Any JSON value; limited by the app's `maxPayloadBytes`. */
  payload: T;
  /** @default the current tenant (`runWithTenant`); an explicit value that contradicts it is refused. */
  tenantId?: string;
  /** @default the current tenant's organization */
  organizationId?: string;
  /** Free-form sub-scope (an integration id, a workspace); carried to the handler. */
  scopeKey?: string;
  /** @default the current tenant's user */
  userId?: string;
  /**
   * Idempotency id, namespaced by plugin and tenant: enqueueing it again while the first job still
   * exists returns the first job's id and enqueues nothing. May contain `:`.
   * @default a random UUID
   */
  jobId?: string;
  /** Earliest start, in ms from now. @default 0 */
  delay?: number;
  /** Alias of {@link delay} (ms). Giving both with different values is refused. */
  delayMs?: number;
  /** Total attempts, the first included. @default 1 (the manager's `defaultAttempts`) */
  attempts?: number;
  /** Alias: retries after the first attempt (`attempts - 1`), the event queue's name. */
  maxRetries?: number;
  /** Wait before each retry, in ms, or a policy. @default exponential from 1000 ms */
  backoff?: number | BackoffOptions;
  /** Alias of {@link backoff}. */
  backoffMs?: number | BackoffOptions;
  /** Lower runs first: 0 urgent, 1 high, 2 normal, 3 low. @default 2 */
  priority?: number;
  /**
   * Delete the job record when it completes (`true`), or keep it for this many ms.
   * @default false (kept for `completedRetentionMs`)
   */
  removeOnComplete?: boolean | number;
  /** Same as `removeOnComplete`, for failed (and cancelled) jobs. @default false (kept for `failedRetentionMs`) */
  removeOnFail?: boolean | number;
}

/** Anything with an `afterCommit(cb)` hook (Sequelize, TypeORM wrappers, the sync message manager's `Transaction`). */
export interface JobTransaction {
  afterCommit(callback: () => unknown): unknown;
}

/** Second argument of `enqueue`. */
export interface EnqueueOptions {
  /**
   * An `afterCommit(cb)` transaction: the job is written when it commits (a rollback drops it); the
   * callback returns a promise that resolves once the job exists, so a `commit()` that awaits its
   * hooks (Sequelize's does) returns with the job readable on every node. Or,
   * with a job store that supports transactions (`jobStore.capabilities.transactions`), that store's
   * transaction object (e.g. a PostgreSQL client): the job is written inside it. Anything else is
   * refused with `NOT_SUPPORTED`.
   */
  transaction?: JobTransaction | object;
}

/** The job as a handler sees it. */
export interface ManagedQueueJob<T = any> {
  /** The job id as returned by `enqueue`. */
  readonly id: string;
  /** The job name (a stacked processor class dispatches on it). */
  readonly name: string;
  readonly data: T;
  /** Attempts finished before this one (0 on the first), as in BullMQ. */
  readonly attemptsMade: number;
  /** Records progress (any JSON value, usually 0..100); visible in `getJob` and the `job:progress` event. */
  progress(value: number | object): Promise<void>;
  /**
   * Adds a line to the job's log (kept with the job, the last {@link MAX_JOB_LOG_LINES} lines of at most
   * {@link MAX_JOB_LOG_LINE_BYTES} bytes each; longer lines are cut). Shown by `getJob(id).logs` and
   * `clusterkit queue logs <id>`. Same as `ctx.log`.
   */
  log(line: string): Promise<void>;
  /** Aborts on `cancel({ abortActive: true })` and when the node stops. */
  readonly signal: AbortSignal;
}

/** Who and what the job is for, handed to handlers as the second argument. */
export interface ManagedJobContext {
  readonly pluginName: string;
  readonly queueName: string;
  readonly jobName: string;
  readonly tenantId?: string;
  readonly organizationId?: string;
  readonly scopeKey?: string;
  readonly userId?: string;
}

/** Most log lines kept per job (the oldest go first). */
export const MAX_JOB_LOG_LINES = 200;
/** Longest log line kept, in bytes of UTF-8 (longer lines are cut and marked `…`). */
export const MAX_JOB_LOG_LINE_BYTES = 2_048;

/** The context a handler gets: the job's routing facts plus its log. */
export interface ManagedJobHandlerContext extends ManagedJobContext {
  /** Adds a line to the job's log (see `job.log`). Not enumerable: spreading the context copies only the facts. */
  log(line: string): Promise<void>;
}

/** A job handler. Its return value (JSON) becomes the job's `returnValue`. */
export type ManagedJobHandler<T = any, R = unknown> = (
  job: ManagedQueueJob<T>,
  context: ManagedJobHandlerContext,
) => R | Promise<R>;

/** A cluster-wide rate limit: at most `max` job starts per `durationMs` window, across every node. */
export interface RateLimit {
  max: number;
  durationMs: number;
}

/** Options of a handler registration (`process()` and `@PluginJobProcessor`). */
export interface ProcessorOptions {
  pluginName: string;
  queueName: string;
  jobName: string;
  /** LOCAL: most jobs of this handler running at once on THIS node. @default 1 */
  concurrency?: number;
  /** GLOBAL: most jobs of this handler running at once across the whole cluster (lock-backed). @default unlimited */
  globalConcurrency?: number;
  /** GLOBAL: job starts per time window across the cluster. @default unlimited */
  rateLimit?: RateLimit;
}

/** A job as read back by `getJob` / `listJobs`. */
export interface ManagedJobInfo {
  id: string;
  state: ManagedJobState;
  /** Last value given to `job.progress()`. @default 0 */
  progress: number | object;
  /** Attempts finished so far, completed or failed (BullMQ's `attemptsMade`); a first-try success shows 1. Reset by `retry()`. */
  attemptsMade: number;
  /** Attempts started (includes one running now, and ones lost with a crashed node). */
  attemptsStarted: number;
  maxAttempts: number;
  /** The last attempts (at most 20), oldest first: number, node, start, end, outcome, error. Kept across `retry()`. */
  history: JobAttemptInfo[];
  /** The options it was enqueued with. */
  options: {
    attempts: number;
    backoff: { type: 'fixed' | 'exponential'; delay: number; maxDelay: number; jitter: number };
    delayMs: number;
    priority: number;
    removeOnComplete: boolean | number;
    removeOnFail: boolean | number;
  };
  /** The node running it (state `active`). */
  owner?: string;
  /** Handler log lines (`job.log`), oldest first: only from `getJob`. */
  logs?: string[];
  failedReason?: string;
  /** Error code of the last failure (`NO_PROCESSOR`, `QUEUE_TIMEOUT`, ...), when it had one. */
  failedCode?: string;
  stacktrace?: string[];
  returnValue?: unknown;
  payload: unknown;
  priority: number;
  /** Epoch ms. `runAt`: when the current attempt is (was) due; absent once the job finished. */
  timestamps: { enqueuedAt: number; startedAt?: number; finishedAt?: number; runAt?: number };
  pluginName: string;
  queueName: string;
  jobName: string;
  tenantId?: string;
  organizationId?: string;
  scopeKey?: string;
  userId?: string;
}

/** One attempt in a job's history. */
export interface JobAttemptInfo {
  /** 1 for the first attempt; keeps counting across `retry()`. */
  attempt: number;
  /** The node that ran it. */
  node: string;
  /** Epoch ms. */
  startedAt: number;
  /** Epoch ms; absent while it runs. */
  finishedAt?: number;
  /** `completed`, `failed`, `cancelled`, or `lost` (its node died mid-run; not counted in `attemptsMade`). */
  outcome?: 'completed' | 'failed' | 'cancelled' | 'lost';
  /** Why it failed; `stack` (at most 2,000 characters) is kept for the latest 5 failed attempts. */
  error?: { message: string; code?: string; stack?: string };
}

/** Filter of `listJobs`. */
export interface ListJobsFilter {
  state?: ManagedJobState;
  pluginName?: string;
  queueName?: string;
  tenantId?: string;
  /** @default 0 */
  offset?: number;
  /** @default 100 */
  limit?: number;
}

/** Filter of `getMetrics`. */
export interface MetricsFilter {
  pluginName?: string;
  queueName?: string;
  tenantId?: string;
}

/** Job counts by state. */
export interface JobCounts {
  waiting: number;
  active: number;
  completed: number;
  failed: number;
  delayed: number;
}

/** One row of `getQueueStats`. */
export interface QueueStats extends JobCounts {
  pluginName: string;
  queueName: string;
  tenantId?: string;
  paused: boolean;
}

/** A logical queue (`pause`/`resume`/`isPaused`). */
export interface LogicalQueue {
  pluginName: string;
  queueName: string;
}

/** What `schedule` accepts: exactly one of `cron` and `everyMs`. */
export interface ScheduleInput<T = unknown> {
  pluginName: string;
  queueName: string;
  jobName: string;
  /** 5- or 6-field cron expression (cron-parser syntax). */
  cron?: string;
  /** Fixed interval in ms, ticks aligned to the epoch. */
  everyMs?: number;
  /** IANA time zone of `cron`. @default 'UTC' */
  tz?: string;
  payload: T;
  tenantId?: string;
  organizationId?: string;
  scopeKey?: string;
  userId?: string;
  /** Stable id; scheduling the same id again replaces the schedule. @default derived from plugin/queue/job/tenant/scopeKey */
  scheduleId?: string;
  /** Per-run job options. */
  attempts?: number;
  maxRetries?: number;
  backoff?: number | BackoffOptions;
  backoffMs?: number | BackoffOptions;
  priority?: number;
}

/** A stored schedule: what `schedule` was given, with its id resolved. */
export interface ScheduleInfo extends Omit<ScheduleInput, 'scheduleId'> {
  /** `<plugin>:<tenant or ->:<your id>` (like job ids): the same id in two tenants is two schedules. */
  scheduleId: string;
  /** The latest tick whose job was enqueued (epoch ms). */
  lastTick?: number;
  /** Epoch ms. */
  createdAt: number;
  /** Next tick, epoch ms. */
  nextRunAt?: number;
}

/** Scope of plugin state (`scopedKey`, `kv`, `getRedis`). Tenant and organization default to the current tenant. */
export interface KeyScope {
  pluginName: string;
  tenantId?: string;
  organizationId?: string;
  /** A further sub-scope (integration, workspace). */
  scopeKey?: string;
}

/** Local events of a `ManagedQueue` (on the node where they happen). */
export interface ManagedQueueEvents {
  'job:active': [info: ManagedJobInfo];
  'job:completed': [info: ManagedJobInfo, meta: { durationMs: number }];
  'job:failed': [info: ManagedJobInfo, error: Error, meta: { willRetry: boolean; durationMs: number }];
  'job:progress': [info: ManagedJobInfo, progress: number | object];
}
