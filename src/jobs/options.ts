/**
 * Options of the managed queue (`createApp({ managedQueue: {...} })`), their defaults and checks.
 * Every duration is in milliseconds.
 */
import { booleanOption } from '../boolean-option.js';
import { assertDuration, assertInteger, assertName, assertOptions } from '../validation.js';

/** Options of `app.managedQueue`. */
export interface ManagedQueueOptions {
  /** Event-queue channel every logical job travels on; the physical queue is `<app>:<physicalQueue>` (escaped: `managed-queue%3Aplugin-jobs`). @default 'managed-queue:plugin-jobs' */
  physicalQueue?: string;
  /** Most tickets this node works on at once across ALL handlers (the physical consumer's concurrency). @default 32 */
  workerConcurrency?: number;
  /** Consume the physical queue on this node. `false` makes a producer-only node. @default true */
  worker?: boolean;
  /** Fire schedules from this node (every node may; each tick still runs once). @default true */
  schedules?: boolean;
  /** Attempts of a job enqueued without `attempts`. @default 1 */
  defaultAttempts?: number;
  /** How long a handler must be missing on every live node before its jobs fail with NO_PROCESSOR, in ms. @default 10000 */
  processorGraceMs?: number;
  /** TTL of node and handler heartbeats in the store, in ms (beats every third). @default min(5000, processorGraceMs) */
  heartbeatTtlMs?: number;
  /** Delay before a job handed back by a node without its handler is offered again, in ms. @default 200 */
  handBackDelayMs?: number;
  /** How often jobs of a paused logical queue are looked at again, in ms. @default 1000 */
  pausedRecheckMs?: number;
  /** How long completed job records are kept, in ms. @default 86400000 (24 h) */
  completedRetentionMs?: number;
  /** How long failed and cancelled job records are kept, in ms. @default 604800000 (7 days) */
  failedRetentionMs?: number;
  /** How often schedules created on other nodes are picked up, in ms. @default 5000 */
  scheduleRefreshMs?: number;
  /**
   * A job whose ticket is still unconfirmed this long after its record was written (its writer died
   * between the two) gets its ticket republished by the reconciler, which runs every half of it on
   * one node at a time: a lost ticket is repaired within 1.5× this (plus one pass), in ms.
   * @default 10000
   */
  ticketRepairMs?: number;
}

/** Options with every default filled in. */
export type ResolvedManagedQueueOptions = Required<ManagedQueueOptions>;

const KEYS = [
  'physicalQueue',
  'workerConcurrency',
  'worker',
  'schedules',
  'defaultAttempts',
  'processorGraceMs',
  'heartbeatTtlMs',
  'handBackDelayMs',
  'pausedRecheckMs',
  'completedRetentionMs',
  'failedRetentionMs',
  'scheduleRefreshMs',
  'ticketRepairMs',
] as const;

/** Checks the options and fills in defaults. */
export function resolveManagedQueueOptions(options: ManagedQueueOptions | undefined): ResolvedManagedQueueOptions {
  const o = assertOptions('managedQueue options', options, KEYS);
  const ms = (name: (typeof KEYS)[number], fallback: number) =>
    o[name] === undefined ? fallback : assertDuration(name, o[name]);
  const processorGraceMs = ms('processorGraceMs', 10_000);
  return {
    physicalQueue:
      o.physicalQueue === undefined ? 'managed-queue:plugin-jobs' : assertName('physicalQueue', o.physicalQueue),
    workerConcurrency:
      o.workerConcurrency === undefined ? 32 : assertInteger('workerConcurrency', o.workerConcurrency, 1, 10_000),
    worker: booleanOption('worker', o.worker, true),
    schedules: booleanOption('schedules', o.schedules, true),
    defaultAttempts:
      o.defaultAttempts === undefined ? 1 : assertInteger('defaultAttempts', o.defaultAttempts, 1, 1_000),
    processorGraceMs,
    heartbeatTtlMs: ms('heartbeatTtlMs', Math.min(5_000, processorGraceMs)),
    handBackDelayMs: ms('handBackDelayMs', 200),
    pausedRecheckMs: ms('pausedRecheckMs', 1_000),
    completedRetentionMs: ms('completedRetentionMs', 86_400_000),
    failedRetentionMs: ms('failedRetentionMs', 604_800_000),
    scheduleRefreshMs: ms('scheduleRefreshMs', 5_000),
    ticketRepairMs: ms('ticketRepairMs', 10_000),
  };
}
