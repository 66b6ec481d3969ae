/**
 * The options of `eventQueue.subscribe` / `publish` and the manager's defaults: their types, their
 * defaults, and the checks that refuse bad values at the call, before an adapter is touched.
 */
import type { ManagerContext } from '../context.js';
import { ClusterError, ErrorCodes, type SerializedError } from '../errors.js';
import {
  assertDuration,
  assertFunction,
  assertInteger,
  assertName,
  assertOptions,
  MAX_DELAY_MS,
} from '../validation.js';
import { DEFAULT_BACKOFF, normalizeBackoff, type BackoffInput, type BackoffPolicy } from './backoff.js';
import type { EnvelopePolicy } from './envelope.js';
import type { EventQueueAdapter } from './types.js';

/** What a handler is told about the message it is processing. */
export interface EventQueueProcessContext {
  /** The message id (`jobId` when the publisher gave one). */
  readonly id: string;
  /** Failed attempts before this one (0 on the first). */
  readonly retried: number;
  /** Aborts when the attempt's `timeout` passes (reason: `QueueTimeoutError`) or the node stops (`SHUTDOWN`). */
  readonly signal: AbortSignal;
  /** The channel the message was published to. */
  readonly channel: string;
}

/** Options of `eventQueue.subscribe(channel, options)`. */
export interface EventQueueSubscribeOptions<T = any> {
  /** Handles one message. Resolve to acknowledge; throw to fail the attempt. */
  process(message: T, context: EventQueueProcessContext): unknown;
  /** Most messages this node handles at once on this channel. @default 1 */
  concurrency?: number;
  /** Gate (NocoBase): while it returns false this node takes no new message from the channel. */
  idle?: () => boolean;
  /** Retries after the first failed attempt, for messages published without `maxRetries`. @default 3 */
  maxRetries?: number;
  /** Wait between attempts, for messages published without `backoff`. @default exponential from 1000 ms, cap 60000 ms, jitter 0.2 */
  backoff?: BackoffInput;
  /** Per-attempt time limit in ms, for messages published without `timeout`. @default none */
  timeout?: number;
  /** How often a closed `idle()` gate is asked again, in ms (NocoBase's name). @default the manager's `idleRecheckMs` (100) */
  interval?: number;
}

/** Options of `eventQueue.publish(channel, message, options)`. */
export interface EventQueuePublishOptions {
  /** Retries after the first failed attempt; overrides the subscriber's. */
  maxRetries?: number;
  /** Per-attempt time limit, in ms; overrides the subscriber's. */
  timeout?: number;
  /** Earliest start, in ms from now. @default 0 */
  delay?: number;
  /** Lower runs first: 0 urgent, 1 high, 2 normal, 3 low, higher lower still. @default 2 */
  priority?: number;
  /** Idempotency id: publishing an id that is still queued, running or dead-lettered does nothing. @default a random UUID */
  jobId?: string;
  /** Wait between attempts; overrides the subscriber's. */
  backoff?: BackoffInput;
  /** Alias of {@link delay} (ms), the managed queue's name. Both with different values are refused. */
  delayMs?: number;
  /** Alias: total attempts, the first included (`maxRetries + 1`), the managed queue's name. */
  attempts?: number;
  /** Alias of {@link backoff}, the managed queue's name. */
  backoffMs?: BackoffInput;
  /**
   * Write the message inside this open database transaction: it exists if and only if the
   * transaction commits (no outbox window). PostgreSQL adapter only (capability `transactional`):
   * a `pg.PoolClient`/`pg.Client` after `BEGIN`, or a Sequelize transaction. Other adapters refuse
   * it with `NOT_SUPPORTED`.
   */
  transaction?: unknown;
}

/** Options of `new EventQueueManager(options)`. */
export interface EventQueueManagerOptions {
  /** @default a new `MemoryEventQueueAdapter` */
  adapter?: EventQueueAdapter;
  /** @default standaloneContext() */
  context?: ManagerContext;
  defaults?: EventQueueDefaults;
}

/** A dead letter as listed by the manager, with its payload parsed. */
export interface EventQueueDeadLetter<T = unknown> {
  readonly id: string;
  /** The published payload; the raw stored text when the message was malformed. */
  readonly message: T | string;
  /** Failed attempts, the last one included. */
  readonly attempt: number;
  /** Why the last attempt failed (`code` is `QUEUE_TIMEOUT`, `MALFORMED_MESSAGE`, ... when known). */
  readonly error: SerializedError;
  /** Epoch ms. */
  readonly failedAt: number;
}

/** Manager-wide defaults (`new EventQueueManager({ defaults })`). */
export interface EventQueueDefaults {
  /** @default 3 */
  maxRetries?: number;
  /** @default exponential from 1000 ms, cap 60000 ms, jitter 0.2 */
  backoff?: BackoffInput;
  /** Per-attempt time limit, in ms. @default none */
  timeout?: number;
  /** @default 1 */
  concurrency?: number;
  /** How long `close()` waits for in-flight handlers before aborting them, in ms. @default 10000 */
  gracePeriodMs?: number;
  /** How often a closed `idle()` gate is asked again, in ms. @default 100 */
  idleRecheckMs?: number;
}

/** Defaults with every field resolved. */
export interface ResolvedDefaults {
  readonly maxRetries: number;
  readonly backoff: BackoffPolicy;
  readonly timeout: number | undefined;
  readonly concurrency: number;
  readonly gracePeriodMs: number;
  readonly idleRecheckMs: number;
}

/** The built-in defaults. */
export const EVENT_QUEUE_DEFAULTS: ResolvedDefaults = Object.freeze({
  maxRetries: 3,
  backoff: DEFAULT_BACKOFF,
  timeout: undefined,
  concurrency: 1,
  gracePeriodMs: 10_000,
  idleRecheckMs: 100,
});

/** Normal priority, used when `publish` is given none. */
export const DEFAULT_PRIORITY = 2;
/** Largest priority accepted: BullMQ's limit (2 097 151) less one, since BullMQ reserves 0 for "no priority" and adapters shift ours by one. */
export const MAX_PRIORITY = 2_097_150;
/** Most retries accepted. */
export const MAX_RETRIES_LIMIT = 1_000_000;

const SUBSCRIBE_KEYS = ['process', 'concurrency', 'idle', 'maxRetries', 'backoff', 'timeout', 'interval'] as const;
const PUBLISH_KEYS = [
  'maxRetries',
  'timeout',
  'delay',
  'priority',
  'jobId',
  'backoff',
  'delayMs',
  'attempts',
  'backoffMs',
  'transaction',
] as const;
const DEFAULT_KEYS = ['maxRetries', 'backoff', 'timeout', 'concurrency', 'gracePeriodMs', 'idleRecheckMs'] as const;

/** Checks `defaults` and fills in the built-in values. */
export function resolveDefaults(defaults: EventQueueDefaults | undefined): ResolvedDefaults {
  const d = assertOptions('EventQueueManager defaults', defaults, DEFAULT_KEYS);
  const base = EVENT_QUEUE_DEFAULTS;
  return {
    maxRetries: d.maxRetries === undefined ? base.maxRetries : retries('maxRetries', d.maxRetries),
    backoff: d.backoff === undefined ? base.backoff : normalizeBackoff('backoff', d.backoff),
    timeout: d.timeout === undefined ? base.timeout : assertDuration('timeout', d.timeout),
    concurrency: d.concurrency === undefined ? base.concurrency : assertInteger('concurrency', d.concurrency, 1),
    gracePeriodMs:
      d.gracePeriodMs === undefined
        ? base.gracePeriodMs
        : assertDuration('gracePeriodMs', d.gracePeriodMs, { allowZero: true }),
    idleRecheckMs:
      d.idleRecheckMs === undefined ? base.idleRecheckMs : assertDuration('idleRecheckMs', d.idleRecheckMs),
  };
}

/** A subscription's resolved settings. */
export interface ResolvedSubscribe {
  readonly options: EventQueueSubscribeOptions;
  readonly concurrency: number;
  readonly maxRetries: number;
  readonly backoff: BackoffPolicy;
  readonly timeout: number | undefined;
  readonly idle: (() => boolean) | undefined;
  readonly idleRecheckMs: number;
}

/** Checks `subscribe` options and resolves them against the manager's defaults. */
export function resolveSubscribe(options: unknown, defaults: ResolvedDefaults): ResolvedSubscribe {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new ClusterError(
      ErrorCodes.INVALID_ARGUMENT,
      'eventQueue.subscribe: options must be an object with process()',
    );
  }
  const o = assertOptions('eventQueue.subscribe', options as EventQueueSubscribeOptions, SUBSCRIBE_KEYS);
  assertFunction('process', o.process);
  if (o.idle !== undefined) assertFunction('idle', o.idle);
  return {
    options: options as EventQueueSubscribeOptions,
    concurrency: o.concurrency === undefined ? defaults.concurrency : assertInteger('concurrency', o.concurrency, 1),
    maxRetries: o.maxRetries === undefined ? defaults.maxRetries : retries('maxRetries', o.maxRetries),
    backoff: o.backoff === undefined ? defaults.backoff : normalizeBackoff('backoff', o.backoff),
    timeout: o.timeout === undefined ? defaults.timeout : assertDuration('timeout', o.timeout),
    idle: o.idle,
    idleRecheckMs: o.interval === undefined ? defaults.idleRecheckMs : assertDuration('interval', o.interval),
  };
}

/** A publish call's resolved settings. */
export interface ResolvedPublish {
  readonly jobId: string | undefined;
  readonly priority: number;
  readonly delayMs: number;
  /** Only what the publisher set; the rest is left to the consumer. */
  readonly policy: EnvelopePolicy;
  /** The caller's transaction, when one was given (checked against the adapter's capability by the manager). */
  readonly transaction?: unknown;
}

const PLAIN_PUBLISH: ResolvedPublish = Object.freeze({
  jobId: undefined,
  priority: DEFAULT_PRIORITY,
  delayMs: 0,
  policy: Object.freeze({}),
});

/** Checks `publish` options. */
export function resolvePublish(options: EventQueuePublishOptions | undefined): ResolvedPublish {
  // The common call has no options: no checks, no allocation.
  if (options === undefined) return PLAIN_PUBLISH;
  const o = assertOptions('eventQueue.publish', options, PUBLISH_KEYS);
  const policy: EnvelopePolicy = {};
  const call = 'eventQueue.publish';
  const maxRetries = agreeingAliases(
    call,
    'maxRetries',
    o.maxRetries === undefined ? undefined : retries('maxRetries', o.maxRetries),
    'attempts - 1',
    o.attempts === undefined ? undefined : assertInteger('attempts', o.attempts, 1, MAX_RETRIES_LIMIT + 1) - 1,
  );
  if (maxRetries !== undefined) policy.maxRetries = maxRetries;
  if (o.timeout !== undefined) policy.timeout = assertDuration('timeout', o.timeout);
  const backoff = agreeingAliases(
    call,
    'backoff',
    o.backoff === undefined ? undefined : normalizeBackoff('backoff', o.backoff),
    'backoffMs',
    o.backoffMs === undefined ? undefined : normalizeBackoff('backoffMs', o.backoffMs),
  );
  if (backoff !== undefined) policy.backoff = backoff;
  const delay = agreeingAliases(
    call,
    'delay',
    o.delay === undefined ? undefined : assertDuration('delay', o.delay, { allowZero: true, max: MAX_DELAY_MS }),
    'delayMs',
    o.delayMs === undefined ? undefined : assertDuration('delayMs', o.delayMs, { allowZero: true, max: MAX_DELAY_MS }),
  );
  return {
    jobId: o.jobId === undefined ? undefined : assertName('jobId', o.jobId),
    priority: o.priority === undefined ? DEFAULT_PRIORITY : assertInteger('priority', o.priority, 0, MAX_PRIORITY),
    delayMs: delay ?? 0,
    policy,
    ...(o.transaction === undefined ? {} : { transaction: checkTransaction(o.transaction) }),
  };
}

/**
 * One option given under its two names (`delay`/`delayMs`, `backoff`/`backoffMs`, `maxRetries`/`attempts`,
 * shared by `eventQueue.publish` and `managedQueue.enqueue`): the value, or `INVALID_OPTION` when both
 * names were given with different values.
 */
export function agreeingAliases<T>(
  call: string,
  a: string,
  x: T | undefined,
  b: string,
  y: T | undefined,
): T | undefined {
  if (x !== undefined && y !== undefined && JSON.stringify(x) !== JSON.stringify(y)) {
    throw new ClusterError(
      ErrorCodes.INVALID_OPTION,
      `${call}: ${a} and ${b} name one option and were given different values (${JSON.stringify(x)} and ${JSON.stringify(y)}); give one of them`,
      { details: { option: a } },
    );
  }
  return x ?? y;
}

function checkTransaction(value: unknown): unknown {
  if (typeof value !== 'object' || value === null) {
    throw new ClusterError(
      ErrorCodes.INVALID_OPTION,
      'eventQueue.publish: transaction must be a database client in an open transaction (pg.PoolClient, Sequelize transaction)',
      { details: { option: 'transaction' } },
    );
  }
  return value;
}

function retries(name: string, value: unknown): number {
  return assertInteger(name, value, 0, MAX_RETRIES_LIMIT);
}
