/**
 * Options of the BullMQ event queue, in milliseconds like everything in clusterkit (BullMQ's own
 * units — seconds for `age` and `drainDelay` — are converted here).
 */
import { assertInteger, assertOptions } from 'clusterkit/adapter-kit';

/** How many finished jobs to keep. Both limits apply when both are given. */
export interface RetentionOptions {
  /** Most jobs kept; older ones are removed as new ones finish. */
  count?: number;
  /** Longest a job is kept after finishing, in ms. Omitted = no age limit. */
  ageMs?: number;
}

/** Tuning of the Redis event queue. */
export interface RedisEventQueueOptions {
  /**
   * How long a worker's claim on a job lasts without renewal, in ms (BullMQ `lockDuration`; renewed
   * at half of it while the handler runs). A worker that dies mid-job loses its claim after this
   * long, and the job is redelivered at the next stalled check. An event loop blocked for longer
   * makes the job look stalled too, so it may run twice (at-least-once).
   * @default 30000
   */
  lockDurationMs?: number;
  /** How often workers look for stalled jobs, in ms (BullMQ `stalledInterval`). @default 30000 */
  stalledIntervalMs?: number;
  /** How many times a job may stall (its worker dying) before it is dead-lettered. @default 10 */
  maxStalledCount?: number;
  /** Completed jobs kept for inspection. @default { count: 1000 } */
  keepCompleted?: RetentionOptions;
  /** Dead letters (the failed set) kept. @default { count: 100000 } */
  keepDead?: RetentionOptions;
  /** How often each consumer checks its worker's blocking connection (BullMQ issue 4585), in ms; 0 = off. @default 5000 */
  watchdogIntervalMs?: number;
  /** Longest a worker blocks waiting for a job before re-polling, in ms (BullMQ `drainDelay`). @default 5000 */
  drainDelayMs?: number;
}

/** Options after defaults, as the consumer and producer use them. */
export interface ResolvedQueueOptions {
  readonly lockDurationMs: number;
  readonly stalledIntervalMs: number;
  readonly maxStalledCount: number;
  readonly keepCompleted: { count: number; age?: number };
  readonly keepDead: { count: number; age?: number };
  readonly watchdogIntervalMs: number;
  readonly drainDelaySeconds: number;
  /** Background failures (worker errors, a replaced worker). */
  readonly onError: (error: unknown, meta: Record<string, unknown>) => void;
}

const KEYS = [
  'lockDurationMs',
  'stalledIntervalMs',
  'maxStalledCount',
  'keepCompleted',
  'keepDead',
  'watchdogIntervalMs',
  'drainDelayMs',
] as const;

function retention(name: string, value: RetentionOptions | undefined, count: number): { count: number; age?: number } {
  if (value === undefined) return { count };
  assertOptions(name, value, ['count', 'ageMs'] as const);
  const out: { count: number; age?: number } = {
    count: value.count === undefined ? count : assertInteger(`${name}.count`, value.count, 0),
  };
  // BullMQ ages are in seconds; round up so nothing goes earlier than asked.
  if (value.ageMs !== undefined) out.age = Math.ceil(assertInteger(`${name}.ageMs`, value.ageMs, 1) / 1000);
  return out;
}

/** Validates and fills in defaults. */
export function resolveQueueOptions(
  options: RedisEventQueueOptions = {},
  onError: ResolvedQueueOptions['onError'],
): ResolvedQueueOptions {
  assertOptions('createRedisAdapters eventQueue', options, KEYS);
  const int = (name: (typeof KEYS)[number], fallback: number, min: number) => {
    const value = options[name];
    return value === undefined ? fallback : assertInteger(name, value, min);
  };
  return {
    lockDurationMs: int('lockDurationMs', 30_000, 100),
    stalledIntervalMs: int('stalledIntervalMs', 30_000, 100),
    maxStalledCount: int('maxStalledCount', 10, 0),
    keepCompleted: retention('keepCompleted', options.keepCompleted, 1_000),
    keepDead: retention('keepDead', options.keepDead, 100_000),
    watchdogIntervalMs: int('watchdogIntervalMs', 5_000, 0),
    drainDelaySeconds: Math.max(1, Math.ceil(int('drainDelayMs', 5_000, 1) / 1000)),
    onError,
  };
}
