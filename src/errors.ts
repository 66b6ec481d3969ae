/**
 * Every error clusterkit raises on purpose is a {@link ClusterError} with a stable string `code`.
 * Callers branch on `code`, never on message text.
 */

/** The stable error codes. New codes may be added; existing ones never change meaning. */
export const ErrorCodes = {
  /** A channel, queue or key name is empty, whitespace, too long or holds control characters. */
  INVALID_NAME: 'INVALID_NAME',
  /** A payload is not JSON-serializable (function, BigInt, symbol, cycle, NaN/Infinity, undefined). */
  INVALID_PAYLOAD: 'INVALID_PAYLOAD',
  /** A serialized payload is larger than the configured limit. */
  PAYLOAD_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  /** An option has the wrong type or is out of range (ttl <= 0, concurrency < 1, NaN delay, ...). */
  INVALID_OPTION: 'INVALID_OPTION',
  /** An option name that the call does not know (usually a typo). */
  UNKNOWN_OPTION: 'UNKNOWN_OPTION',
  /** A required argument is missing or has the wrong type. */
  INVALID_ARGUMENT: 'INVALID_ARGUMENT',
  /** The manager is not connected (before `connect()`/`app.start()` or after `close()`/`app.stop()`). */
  NOT_CONNECTED: 'NOT_CONNECTED',
  /** `setAdapter()` after `connect()`, `start()` twice, and similar lifecycle misuse. */
  INVALID_STATE: 'INVALID_STATE',
  /** A second subscription for a channel that already has one on this node. */
  ALREADY_SUBSCRIBED: 'ALREADY_SUBSCRIBED',
  /** The adapter cannot do this (for example priority on a backend without it). */
  NOT_SUPPORTED: 'NOT_SUPPORTED',
  /** The broker/backend could not be reached or refused the operation. */
  BACKEND_UNAVAILABLE: 'BACKEND_UNAVAILABLE',
  /** A handler attempt ran past its `timeout`. */
  QUEUE_TIMEOUT: 'QUEUE_TIMEOUT',
  /** A message arrived from the wire that is not a valid clusterkit envelope. */
  MALFORMED_MESSAGE: 'MALFORMED_MESSAGE',
  /** A handler declared the failure permanent (see {@link UnrecoverableError}). */
  UNRECOVERABLE: 'UNRECOVERABLE',
  /** Work was aborted because the node is shutting down. */
  SHUTDOWN: 'SHUTDOWN',
  /** A lock is held by someone else (`tryAcquire`) or could not be taken in time (`acquire` with a wait limit). */
  LOCK_ACQUIRE_FAILED: 'LOCK_ACQUIRE_FAILED',
  /** release/extend by a handle that no longer owns the lease. */
  LOCK_NOT_OWNER: 'LOCK_NOT_OWNER',
  /** The lease ran out or could not be extended while work was still running. */
  LOCK_LOST: 'LOCK_LOST',
  /** A job, dead letter or schedule id that does not exist (or is not visible to the current tenant). */
  NOT_FOUND: 'NOT_FOUND',
  /** An explicit tenant/organization that contradicts the current tenant context. */
  TENANT_MISMATCH: 'TENANT_MISMATCH',
  /** No node has a processor for a managed job's plugin/queue/job. */
  NO_PROCESSOR: 'NO_PROCESSOR',
  /** A managed job was cancelled (its signal's reason, and what `waitForJob` rejects with). */
  JOB_CANCELLED: 'JOB_CANCELLED',
  /** A wait (`waitForJob`) passed its deadline; the job itself goes on. */
  WAIT_TIMEOUT: 'WAIT_TIMEOUT',
} as const;

/** One of {@link ErrorCodes}. */
export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

// The brand every ClusterError carries. `Symbol.for` makes it the same symbol in every copy of
// clusterkit loaded in the process (the ESM and the CommonJS build), so checks work across copies.
const BRAND = Symbol.for('clusterkit.ClusterError');

/**
 * True when `error` is a {@link ClusterError} from any copy of clusterkit in the process (its ESM or
 * CommonJS build, or another installed version). Prefer it to `instanceof` in code that may receive
 * errors from plugins loaded another way.
 */
export function isClusterError(error: unknown): error is ClusterError {
  return typeof error === 'object' && error !== null && (error as Record<symbol, unknown>)[BRAND] === true;
}

/**
 * Base class of every error clusterkit throws on purpose. `instanceof ClusterError` is brand-based
 * (see {@link isClusterError}), so it holds for errors thrown by another copy of clusterkit too;
 * `instanceof` a subclass also accepts a branded error of the same class name from another copy.
 */
export class ClusterError extends Error {
  static override [Symbol.hasInstance](value: unknown): boolean {
    if (Function.prototype[Symbol.hasInstance].call(this, value)) return true;
    if (!isClusterError(value)) return false;
    // `this` is ClusterError itself (any copy) or a subclass: match the class by name.
    return this.name === 'ClusterError' || value.name === this.name;
  }

  override readonly name: string = 'ClusterError';
  /** Stable, machine-readable code; see {@link ErrorCodes}. */
  readonly code: ErrorCode;
  /** Extra structured facts (the option name, the limit, ...), safe to log. */
  readonly details?: Record<string, unknown>;
  /** `false` tells the event queue not to retry this failure. */
  readonly retryable: boolean;

  constructor(
    code: ErrorCode,
    message: string,
    options: { cause?: unknown; details?: Record<string, unknown>; retryable?: boolean } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.details = options.details;
    this.retryable = options.retryable ?? true;
    Object.defineProperty(this, BRAND, { value: true, enumerable: false });
  }
}

/** Thrown by `lockManager.tryAcquire()` when the lock is held, and by timed `acquire()` calls. NocoBase name. */
export class LockAcquireError extends ClusterError {
  override readonly name = 'LockAcquireError';
  constructor(message: string, options: { cause?: unknown; details?: Record<string, unknown> } = {}) {
    super(ErrorCodes.LOCK_ACQUIRE_FAILED, message, options);
  }
}

/**
 * Throw this from an event-queue handler for a failure that retrying cannot fix (invalid data,
 * permission denied): the message goes to the dead-letter queue at once. Any error with
 * `retryable: false` has the same effect.
 */
export class UnrecoverableError extends ClusterError {
  override readonly name = 'UnrecoverableError';
  constructor(message: string, options: { cause?: unknown; details?: Record<string, unknown> } = {}) {
    super(ErrorCodes.UNRECOVERABLE, message, { ...options, retryable: false });
  }
}

/** The failure recorded when a handler attempt passes its `timeout`. */
export class QueueTimeoutError extends ClusterError {
  override readonly name = 'QueueTimeoutError';
  constructor(timeoutMs: number) {
    super(ErrorCodes.QUEUE_TIMEOUT, `handler did not finish within ${timeoutMs} ms`, { details: { timeoutMs } });
  }
}

/** A JSON-safe description of an error, as stored with failed jobs and dead letters. */
export interface SerializedError {
  name: string;
  message: string;
  code?: string;
  stack?: string;
}

/** Turns anything thrown into a {@link SerializedError}. */
export function serializeError(error: unknown): SerializedError {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return {
      name: error.name,
      message: error.message,
      ...(typeof code === 'string' ? { code } : {}),
      ...(error.stack ? { stack: error.stack } : {}),
    };
  }
  return { name: 'Error', message: typeof error === 'string' ? error : safeString(error) };
}

/** True when an error asks not to be retried (`UnrecoverableError` or `retryable: false`). */
export function isUnrecoverable(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { retryable?: unknown }).retryable === false;
}

function safeString(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
