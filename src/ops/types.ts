/**
 * The slice of an app that the operations tools (dashboard, metrics, alerts, CLI) use. Written as
 * structural types so that the ops layer depends on the managers' public API only, never on their
 * internals, and so that anything shaped like an app (a test double for a page, a remote proxy) fits.
 * Shapes the managed queue already declares (states, counts, queue refs, filters) are its own types.
 */
import type {
  JobAttemptInfo,
  JobCounts,
  ListJobsFilter,
  LogicalQueue,
  ManagedJobInfo,
  ManagedJobState,
  MetricsFilter,
  NodeInfo,
  QueueStats,
} from 'clusterkit/adapter-kit';

/** States a managed job can be in (`cancelled` is terminal, like `completed` and `failed`): {@link ManagedJobState}. */
export type JobState = ManagedJobState;

/** The states that queues count (`getMetrics`, `getQueueStats`), in the order operators read them. */
export const JOB_STATES = ['waiting', 'active', 'delayed', 'completed', 'failed'] as const;

/** Every state a job list can be filtered by. */
export const LIST_STATES: readonly JobState[] = [...JOB_STATES, 'cancelled'];

/** A managed job as the ops tools show it (`managedQueue.getJob()`). */
export interface OpsJobInfo {
  id: string;
  state: JobState | string;
  progress?: unknown;
  attemptsMade: number;
  attemptsStarted?: number;
  maxAttempts?: number;
  /** The last attempts, oldest first (kept across retries): the managed queue's {@link JobAttemptInfo}. */
  history?: JobAttemptInfo[];
  /** The options it was enqueued with. */
  options?: ManagedJobInfo['options'];
  /** The node running it (state `active`). */
  owner?: string;
  /** Handler log lines, oldest first (`getJob` only). */
  logs?: string[];
  failedReason?: string;
  stacktrace?: string[] | string;
  returnValue?: unknown;
  payload?: unknown;
  priority?: number;
  failedCode?: string;
  timestamps: { enqueuedAt?: number; startedAt?: number; finishedAt?: number; runAt?: number };
  pluginName: string;
  queueName: string;
  jobName: string;
  tenantId?: string;
  organizationId?: string;
  scopeKey?: string;
  userId?: string;
}

/** A live node as `managedQueue.listNodes()` reports it. */
export type OpsNodeInfo = NodeInfo;

/** Counts by state: the managed queue's {@link JobCounts}. */
export type OpsJobCounts = JobCounts;

/** One logical queue's counts (`managedQueue.getQueueStats()`): the managed queue's {@link QueueStats}. */
export type OpsQueueStats = QueueStats;

/** A logical queue address: the managed queue's {@link LogicalQueue}. */
export type OpsQueueRef = LogicalQueue;

/** The managed-queue API the ops tools call. */
export interface OpsManagedQueue {
  /** Name of the physical event-queue queue every managed job travels on (`<app>:<channel>`, both escaped as in src/names.ts). */
  readonly physicalQueueName?: string;
  /** The physical queue's bare event-queue channel (what `eventQueue` calls take). */
  readonly physicalChannel?: string;
  enqueue(
    input: Record<string, unknown> & OpsQueueRef & { jobName: string; payload: unknown },
  ): Promise<{ jobId: string }>;
  getJob(jobId: string): Promise<OpsJobInfo | null>;
  listJobs(filter: ListJobsFilter): Promise<{ jobs: OpsJobInfo[]; total: number }>;
  getMetrics(filter?: MetricsFilter): Promise<OpsJobCounts>;
  getQueueStats(): Promise<OpsQueueStats[]>;
  retry(jobId: string): Promise<{ success: boolean; reason?: string }>;
  /** Deletes a job that is not running. */
  remove(jobId: string): Promise<{ success: boolean; reason?: string }>;
  /** Runs a delayed job now. */
  promote(jobId: string): Promise<{ success: boolean; reason?: string }>;
  /** Live nodes and the handlers each runs. */
  listNodes(): Promise<OpsNodeInfo[]>;
  cancel(input: { jobId: string; abortActive?: boolean }): Promise<{ success: boolean; reason?: string }>;
  clean(input: { state: 'completed' | 'failed' | 'cancelled'; olderThanMs: number; limit?: number }): Promise<number>;
  pause(queue: OpsQueueRef): Promise<unknown>;
  resume(queue: OpsQueueRef): Promise<unknown>;
  isPaused(queue: OpsQueueRef): Promise<boolean>;
  listSchedules(): Promise<readonly object[]>;
  removeSchedule(id: string): Promise<unknown>;
  on(event: string, listener: (...args: any[]) => void): unknown;
  off(event: string, listener: (...args: any[]) => void): unknown;
}

/** A dead letter as `eventQueue.listDeadLetters()` returns it. */
export interface OpsDeadLetter {
  id: string;
  message: unknown;
  attempt: number;
  error: { name?: string; message: string; code?: string; stack?: string } | string;
  failedAt: number;
}

/** The event-queue API the ops tools call. */
export interface OpsEventQueue {
  listDeadLetters(channel: string, range?: { offset?: number; limit?: number }): Promise<OpsDeadLetter[]>;
  redrive(channel: string, ids?: readonly string[]): Promise<number>;
  deleteDeadLetters(channel: string, ids?: readonly string[]): Promise<number>;
  counts(channel: string): Promise<{ waiting: number; delayed: number; active: number; dead: number }>;
}

/**
 * The slice of the app's key/value store (`app.cacheManager.store`) the ops tools write to: one-time
 * login links and per-minute job statistics. Keys are namespaced `<app>:ops:...`.
 */
export interface OpsKvStore {
  get(key: string): Promise<string | undefined>;
  mget(keys: readonly string[]): Promise<(string | undefined)[]>;
  set(key: string, value: string, options?: { ttlMs?: number; nx?: boolean }): Promise<boolean>;
  scan(prefix: string): AsyncIterable<string>;
}

/** What the ops tools need from an app: its name, its event queue and its managed queue. */
export interface OpsApp {
  readonly name: string;
  readonly eventQueue: OpsEventQueue;
  readonly managedQueue: OpsManagedQueue;
  /** This node's id (`<app>#<uuid>`). */
  readonly nodeId?: string;
  /** The app's cache manager: its store holds login-link spends and job statistics. Optional for test doubles. */
  readonly cacheManager?: { readonly store: OpsKvStore };
}

/**
 * The event-queue channel of the managed queue's physical queue, as the managed queue states it
 * (`managedQueue.physicalChannel`; `eventQueue` calls take the channel and add the app prefix).
 */
export function physicalChannel(app: OpsApp): string | undefined {
  return app.managedQueue.physicalChannel;
}
