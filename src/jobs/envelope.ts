/**
 * The two shapes a managed job has. The *envelope* is what travels on the one physical queue: a
 * small, versioned ticket naming the job and its routing facts (plugin/queue/job, tenant, org,
 * scope, user, enqueue time), so a node can route, rate-limit or hand back a job without reading
 * anything else. The *record* is the job's source of truth in the KV: payload, state, attempts,
 * progress, result. Tickets carry a generation number; a ticket whose generation is not the
 * record's is stale and is dropped, which is how cancel, retry and hand-back stay race-free.
 */
import type { BackoffPolicy } from '../event-queue/backoff.js';
import { ClusterError, ErrorCodes, UnrecoverableError } from '../errors.js';
import type { TraceCarrier } from '../tracing.js';
import type { JobAttemptInfo, ManagedJobContext, ManagedJobInfo, ManagedJobState } from './types.js';

/** Current envelope version. A node refuses (dead-letters) versions it does not know. */
export const JOB_ENVELOPE_VERSION = 1;

/** The wire ticket of one job generation: the job's routing facts ({@link ManagedJobContext}) and more. */
export interface JobEnvelope extends ManagedJobContext {
  readonly v: typeof JOB_ENVELOPE_VERSION;
  readonly kind: 'clusterkit.managed-job';
  readonly jobId: string;
  /** Generation: bumped by every retry; hand-backs keep it. */
  readonly gen: number;
  /**
   * Incarnation nonce of the record this ticket belongs to: a job id enqueued again after its first
   * job was removed is a new incarnation, and the old one's tickets never match it. Absent on
   * tickets from before nonces (they match any incarnation).
   */
  readonly nonce?: string;
  /** Epoch ms of the original enqueue. */
  readonly enqueuedAt: number;
  readonly priority: number;
}

/** One attempt of a job, as kept in its history (bounded: the last {@link MAX_HISTORY}). */
export type JobAttempt = JobAttemptInfo;

/** Most attempts kept in a job's history. */
export const MAX_HISTORY = 20;

/** The stored job. */
export interface JobRecord {
  v: 1;
  id: string;
  /** Incarnation nonce: random per `create`, in every ticket id of this incarnation. */
  nonce: string;
  gen: number;
  /** Stored state; `delayed` whose `runAt` has passed reads back as `waiting`. */
  state: ManagedJobState;
  pluginName: string;
  queueName: string;
  jobName: string;
  tenantId?: string;
  organizationId?: string;
  scopeKey?: string;
  userId?: string;
  payload: unknown;
  priority: number;
  maxAttempts: number;
  /** Attempts finished (completed or failed), as BullMQ counts `attemptsMade`; reset by `retry()`. */
  attemptsMade: number;
  /** Attempts started (a crashed attempt counts here, not in `attemptsMade`); reset by `retry()`. */
  attemptsStarted: number;
  /** The last attempts, oldest first. */
  history: JobAttempt[];
  /** The delay asked at enqueue, ms. */
  delayMs: number;
  backoff: BackoffPolicy;
  progress: number | object;
  enqueuedAt: number;
  /** Earliest start of the current generation, epoch ms. */
  runAt: number;
  startedAt?: number;
  finishedAt?: number;
  /** nodeId running it (state `active`). */
  owner?: string;
  failedReason?: string;
  failedCode?: string;
  stacktrace?: string[];
  returnValue?: unknown;
  removeOnComplete: boolean | number;
  removeOnFail: boolean | number;
  /** When a node first saw no live processor anywhere for this job's handler (epoch ms). */
  noProcessorSince?: number;
  /** `cancel({ abortActive })` was asked for the current generation (cleared when it settles). */
  abortRequested?: boolean;
  /**
   * Since when the current generation's ticket may not be on the physical queue (epoch ms): set when
   * the record is written before its ticket, cleared once the ticket is confirmed or claimed.
   */
  ticketPendingSince?: number;
  /** When a finished record's retention ends (epoch ms). */
  expiresAt?: number;
  /**
   * The node holding this job's ticket in a busy lane (parked: the physical ticket is acknowledged).
   * The record says "ticket pending" meanwhile; the reconciler republishes it only once that node is dead.
   */
  parkedBy?: string;
  /**
   * The enqueuer's trace context (W3C carrier), captured at `enqueue` inside an OpenTelemetry span.
   * Kept on the record, so every attempt, retry and hand-back runs as a child of the same trace.
   */
  trace?: TraceCarrier;
}

const ENVELOPE_STRINGS = ['jobId', 'pluginName', 'queueName', 'jobName'] as const;
const ENVELOPE_OPTIONAL = ['tenantId', 'organizationId', 'scopeKey', 'userId'] as const;

/** Builds the ticket of a record's current generation. */
export function envelopeOf(record: JobRecord): JobEnvelope {
  return {
    v: JOB_ENVELOPE_VERSION,
    kind: 'clusterkit.managed-job',
    jobId: record.id,
    gen: record.gen,
    nonce: record.nonce,
    ...jobContextOf(record),
    enqueuedAt: record.enqueuedAt,
    priority: record.priority,
  };
}

/**
 * Who and what a record's job is for (plugin/queue/job and, when set, tenant, org, scope, user): what
 * handlers get as their context and what a ticket carries. Unset optional fields are left out, not
 * written as `undefined`.
 */
export function jobContextOf(record: JobRecord): ManagedJobContext {
  // Assignments, not conditional spreads: this runs for every attempt.
  const facts: { -readonly [K in keyof ManagedJobContext]: ManagedJobContext[K] } = {
    pluginName: record.pluginName,
    queueName: record.queueName,
    jobName: record.jobName,
  };
  if (record.tenantId !== undefined) facts.tenantId = record.tenantId;
  if (record.organizationId !== undefined) facts.organizationId = record.organizationId;
  if (record.scopeKey !== undefined) facts.scopeKey = record.scopeKey;
  if (record.userId !== undefined) facts.userId = record.userId;
  return facts;
}

/**
 * Checks a message from the physical queue. Anything that is not a ticket this version knows
 * throws an {@link UnrecoverableError}, so the event queue dead-letters it with the reason instead
 * of retrying it or crashing the consumer.
 */
export function decodeJobEnvelope(message: unknown): JobEnvelope {
  const fail = (why: string): never => {
    throw new UnrecoverableError(`malformed managed-job envelope: ${why}`, {
      details: { code: ErrorCodes.MALFORMED_MESSAGE },
    });
  };
  if (typeof message !== 'object' || message === null || Array.isArray(message)) return fail('not an object');
  const m = message as Record<string, unknown>;
  if (m.kind !== 'clusterkit.managed-job') fail('kind is not clusterkit.managed-job');
  if (m.v !== JOB_ENVELOPE_VERSION) fail(`unsupported version ${String(m.v)}`);
  for (const key of ENVELOPE_STRINGS) {
    if (typeof m[key] !== 'string' || (m[key] as string).length === 0) fail(`${key} must be a non-empty string`);
  }
  for (const key of ENVELOPE_OPTIONAL) {
    if (m[key] !== undefined && typeof m[key] !== 'string') fail(`${key} must be a string`);
  }
  if (m.nonce !== undefined && typeof m.nonce !== 'string') fail('nonce must be a string');
  for (const key of ['gen', 'enqueuedAt', 'priority'] as const) {
    if (typeof m[key] !== 'number' || !Number.isInteger(m[key]) || (m[key] as number) < 0) {
      fail(`${key} must be a non-negative integer`);
    }
  }
  return m as unknown as JobEnvelope;
}

/** Parses a stored record; a corrupt one is reported as `MALFORMED_MESSAGE`. */
export function parseRecord(text: string | undefined): JobRecord | undefined {
  if (text === undefined) return undefined;
  try {
    const record = JSON.parse(text) as JobRecord;
    if (record?.v !== 1 || typeof record.id !== 'string') throw new Error('not a job record');
    return upgradeRecord(record);
  } catch (cause) {
    throw new ClusterError(ErrorCodes.MALFORMED_MESSAGE, 'corrupt managed-job record in the store', { cause });
  }
}

/** Fills fields a record written before they existed lacks. */
export function upgradeRecord(record: JobRecord): JobRecord {
  record.nonce ??= '';
  record.attemptsStarted ??= record.attemptsMade;
  record.history ??= [];
  record.delayMs ??= 0;
  return record;
}

/** The ref (id, nonce, generation) of a record's current generation. */
export function refOf(record: JobRecord): { id: string; nonce: string; gen: number } {
  return { id: record.id, nonce: record.nonce, gen: record.gen };
}

/** The physical id of a generation's ticket: `<id>|<nonce>|<gen>` (deterministic, so a republish deduplicates). */
export function ticketId(record: { id: string; nonce: string; gen: number }): string {
  return `${record.id}|${record.nonce}|${record.gen}`;
}

/** The state a reader sees (a `delayed` job whose time has come is `waiting`). */
export function visibleState(record: JobRecord, now = Date.now()): ManagedJobState {
  return record.state === 'delayed' && record.runAt <= now ? 'waiting' : record.state;
}

/** True for `completed`, `failed` and `cancelled`. */
export function isTerminal(state: ManagedJobState): boolean {
  return state === 'completed' || state === 'failed' || state === 'cancelled';
}

/** The public view of a record. */
export function toJobInfo(record: JobRecord, now = Date.now()): ManagedJobInfo {
  const info: ManagedJobInfo = {
    id: record.id,
    state: visibleState(record, now),
    progress: record.progress,
    attemptsMade: record.attemptsMade,
    attemptsStarted: record.attemptsStarted,
    maxAttempts: record.maxAttempts,
    history: record.history.map((h) => ({ ...h })),
    options: {
      attempts: record.maxAttempts,
      backoff: record.backoff,
      delayMs: record.delayMs,
      priority: record.priority,
      removeOnComplete: record.removeOnComplete,
      removeOnFail: record.removeOnFail,
    },
    payload: record.payload,
    priority: record.priority,
    timestamps: { enqueuedAt: record.enqueuedAt },
    pluginName: record.pluginName,
    queueName: record.queueName,
    jobName: record.jobName,
  };
  // An active job keeps the time its attempt was due: the wait before it started is startedAt - runAt.
  if (!isTerminal(record.state)) info.timestamps.runAt = record.runAt;
  if (record.startedAt !== undefined) info.timestamps.startedAt = record.startedAt;
  if (record.finishedAt !== undefined) info.timestamps.finishedAt = record.finishedAt;
  if (record.state === 'active' && record.owner !== undefined) info.owner = record.owner;
  for (const key of ['failedReason', 'failedCode', 'stacktrace', 'returnValue'] as const) {
    if (record[key] !== undefined) (info as unknown as Record<string, unknown>)[key] = record[key];
  }
  for (const key of ['tenantId', 'organizationId', 'scopeKey', 'userId'] as const) {
    if (record[key] !== undefined) info[key] = record[key];
  }
  return info;
}
