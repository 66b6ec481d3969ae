/**
 * Retry backoff: how long a failed message waits before its next attempt. The policy travels in
 * the message envelope, so every node computes the same schedule whoever published it.
 */
import { ClusterError, ErrorCodes } from '../errors.js';
import { assertDuration, assertOptions, describe } from '../validation.js';

/** A backoff policy as given to `subscribe` / `publish`. */
export interface BackoffOptions {
  /** `fixed`: always `delay`; `exponential`: `delay * 2^(retry - 1)`. */
  type: 'fixed' | 'exponential';
  /** Base delay, in ms (≥ 0). */
  delay: number;
  /** Upper bound of one delay, in ms. @default max(60000, delay) */
  maxDelay?: number;
  /**
   * Fraction (0..1) by which a delay may be randomly shortened, so retries of many messages that
   * failed together do not all land at once. @default 0.2 for exponential, 0 for fixed
   */
  jitter?: number;
}

/**
 * A backoff as accepted by the API: a policy object, or a number of ms as shorthand for
 * `{ type: 'fixed', delay: n }`.
 */
export type BackoffInput = number | BackoffOptions;

/** A fully resolved backoff policy (every field present). */
export interface BackoffPolicy {
  readonly type: 'fixed' | 'exponential';
  readonly delay: number;
  readonly maxDelay: number;
  readonly jitter: number;
}

/** The backoff used when neither the message, the subscription nor the manager sets one. */
export const DEFAULT_BACKOFF: BackoffPolicy = Object.freeze({
  type: 'exponential',
  delay: 1_000,
  maxDelay: 60_000,
  jitter: 0.2,
});

const BACKOFF_KEYS = ['type', 'delay', 'maxDelay', 'jitter'] as const;
const DEFAULT_MAX_DELAY_MS = 60_000;

/** Validates a backoff input and fills in defaults; refuses bad shapes with a coded error. */
export function normalizeBackoff(name: string, input: unknown): BackoffPolicy {
  if (typeof input === 'number') {
    const delay = assertDuration(name, input, { allowZero: true });
    return { type: 'fixed', delay, maxDelay: delay, jitter: 0 };
  }
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new ClusterError(
      ErrorCodes.INVALID_OPTION,
      `${name} must be a number of ms or { type, delay, maxDelay?, jitter? }, got ${describe(input)}`,
      { details: { option: name } },
    );
  }
  const given = assertOptions(name, input as BackoffOptions, BACKOFF_KEYS);
  if (given.type !== 'fixed' && given.type !== 'exponential') {
    throw new ClusterError(
      ErrorCodes.INVALID_OPTION,
      `${name}.type must be 'fixed' or 'exponential', got ${describe(given.type)}`,
      { details: { option: `${name}.type` } },
    );
  }
  const delay = assertDuration(`${name}.delay`, given.delay, { allowZero: true });
  const maxDelay =
    given.maxDelay === undefined
      ? Math.max(DEFAULT_MAX_DELAY_MS, delay)
      : assertDuration(`${name}.maxDelay`, given.maxDelay, { allowZero: true });
  if (maxDelay < delay) {
    throw new ClusterError(ErrorCodes.INVALID_OPTION, `${name}.maxDelay (${maxDelay}) must be ≥ delay (${delay})`, {
      details: { option: `${name}.maxDelay` },
    });
  }
  const jitter = given.jitter ?? (given.type === 'exponential' ? DEFAULT_BACKOFF.jitter : 0);
  if (typeof jitter !== 'number' || !(jitter >= 0 && jitter <= 1)) {
    throw new ClusterError(
      ErrorCodes.INVALID_OPTION,
      `${name}.jitter must be a number in 0..1, got ${describe(jitter)}`,
      {
        details: { option: `${name}.jitter` },
      },
    );
  }
  return { type: given.type, delay, maxDelay, jitter };
}

/**
 * The wait before retry number `retry` (1 for the first retry), in whole ms:
 * the base delay (doubled per retry for `exponential`), capped at `maxDelay`, then shortened by a
 * random fraction of at most `jitter`. `random` is injectable for tests.
 */
export function backoffDelay(policy: BackoffPolicy, retry: number, random: () => number = Math.random): number {
  let base = policy.delay;
  if (policy.type === 'exponential') {
    // 2^(retry-1) overflows to Infinity long before it matters; the cap applies either way.
    base = Math.min(policy.maxDelay, policy.delay * 2 ** Math.max(0, retry - 1));
  }
  base = Math.min(base, policy.maxDelay);
  if (policy.jitter === 0 || base === 0) return base;
  return Math.round(base * (1 - policy.jitter * random()));
}
