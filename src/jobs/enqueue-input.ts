/**
 * Checks what `enqueue` and `schedule` are given and turns it into a job record. Every problem is
 * a coded `ClusterError` at the call, before anything reaches the store or the broker.
 */
import { randomUUID } from 'node:crypto';
import { DEFAULT_BACKOFF, normalizeBackoff, type BackoffPolicy } from '../event-queue/backoff.js';
import { ClusterError, ErrorCodes } from '../errors.js';
import { agreeingAliases } from '../event-queue/event-queue-options.js';
import { assertDuration, assertInteger, assertName, describe, MAX_DELAY_MS, serializePayload } from '../validation.js';
import type { JobRecord } from './envelope.js';
import { inputFields } from './input-fields.js';
import { randomHex12 } from './random-hex.js';
import { namespacedJobId, resolveTenant } from './scoped-key.js';
import type { EnqueueInput } from './types.js';

/** Most attempts accepted for one job. */
export const MAX_ATTEMPTS = 1_000;
/** Largest priority accepted (the event queue's limit). */
export const MAX_JOB_PRIORITY = 2_097_151;
/** Priority when none is given. */
export const DEFAULT_JOB_PRIORITY = 2;

/** Defaults that come from the manager's options. */
export interface InputDefaults {
  readonly attempts: number;
  readonly maxPayloadBytes: number;
}

/** Checks an `enqueue` input and builds the record of its first generation. */
export function recordFromInput(input: EnqueueInput, defaults: InputDefaults, now = Date.now()): JobRecord {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new ClusterError(ErrorCodes.INVALID_ARGUMENT, `enqueue: input must be an object, got ${describe(input)}`);
  }
  // Every field read once into one fixed shape (input-fields.ts: the caller's objects make each
  // property read a megamorphic lookup), the keys checked as assertOptions does.
  const i = inputFields('managedQueue.enqueue', input);
  const pluginName = assertName('enqueue: pluginName', i.pluginName);
  const queueName = assertName('enqueue: queueName', i.queueName);
  const jobName = assertName('enqueue: jobName', i.jobName);
  if (!i.hasPayload) {
    throw new ClusterError(ErrorCodes.INVALID_ARGUMENT, 'enqueue: payload is required (use null for none)');
  }
  const payloadJson = serializePayload('enqueue: payload', i.payload, defaults.maxPayloadBytes);
  const tenant = resolveTenant('enqueue', i);
  const scopeKey = i.scopeKey === undefined ? undefined : assertName('enqueue: scopeKey', i.scopeKey);
  const id =
    i.jobId === undefined
      ? randomUUID()
      : namespacedJobId(pluginName, tenant.tenantId, assertName('enqueue: jobId', i.jobId));
  const options = resolveJobOptions('enqueue', i, defaults.attempts);
  const delayMs = options.delayMs;
  const record: JobRecord = {
    v: 1,
    id,
    nonce: randomHex12(),
    gen: 0,
    state: delayMs > 0 ? 'delayed' : 'waiting',
    pluginName,
    queueName,
    jobName,
    payload: JSON.parse(payloadJson),
    priority:
      i.priority === undefined ? DEFAULT_JOB_PRIORITY : assertInteger('priority', i.priority, 0, MAX_JOB_PRIORITY),
    maxAttempts: options.attempts,
    attemptsMade: 0,
    attemptsStarted: 0,
    history: [],
    delayMs,
    backoff: options.backoff,
    progress: 0,
    enqueuedAt: now,
    runAt: now + delayMs,
    removeOnComplete: removal('removeOnComplete', i.removeOnComplete),
    removeOnFail: removal('removeOnFail', i.removeOnFail),
  };
  if (tenant.tenantId !== undefined) record.tenantId = tenant.tenantId;
  if (tenant.organizationId !== undefined) record.organizationId = tenant.organizationId;
  if (tenant.userId !== undefined) record.userId = tenant.userId;
  if (scopeKey !== undefined) record.scopeKey = scopeKey;
  return record;
}

/**
 * The retry/delay options under either spelling: `delay` | `delayMs`, `attempts` | `maxRetries`
 * (attempts − 1), `backoff` | `backoffMs`. Both spellings with different values are refused.
 */
export function resolveJobOptions(
  call: string,
  i: {
    delay?: unknown;
    delayMs?: unknown;
    attempts?: unknown;
    maxRetries?: unknown;
    backoff?: unknown;
    backoffMs?: unknown;
  },
  defaultAttempts: number,
): { delayMs: number; attempts: number; backoff: BackoffPolicy } {
  // None given (most calls): the defaults; nothing to check.
  if (
    i.delay === undefined &&
    i.delayMs === undefined &&
    i.attempts === undefined &&
    i.maxRetries === undefined &&
    i.backoff === undefined &&
    i.backoffMs === undefined
  ) {
    return { delayMs: 0, attempts: defaultAttempts, backoff: DEFAULT_BACKOFF };
  }
  const long = { allowZero: true, max: MAX_DELAY_MS };
  const delay = i.delay === undefined ? undefined : assertDuration('delay', i.delay, long);
  const delayMs = i.delayMs === undefined ? undefined : assertDuration('delayMs', i.delayMs, long);
  const attempts = i.attempts === undefined ? undefined : assertInteger('attempts', i.attempts, 1, MAX_ATTEMPTS);
  const retries =
    i.maxRetries === undefined ? undefined : assertInteger('maxRetries', i.maxRetries, 0, MAX_ATTEMPTS - 1);
  const backoff = i.backoff === undefined ? undefined : normalizeBackoff('backoff', i.backoff);
  const backoffMs = i.backoffMs === undefined ? undefined : normalizeBackoff('backoffMs', i.backoffMs);
  return {
    delayMs: agreeingAliases(call, 'delay', delay, 'delayMs', delayMs) ?? 0,
    attempts:
      agreeingAliases(call, 'attempts', attempts, 'maxRetries + 1', retries === undefined ? undefined : retries + 1) ??
      defaultAttempts,
    backoff: agreeingAliases(call, 'backoff', backoff, 'backoffMs', backoffMs) ?? DEFAULT_BACKOFF,
  };
}

function removal(name: string, value: unknown): boolean | number {
  if (value === undefined) return false;
  if (typeof value === 'boolean') return value;
  return assertDuration(name, value);
}
