/**
 * One handler registered on a node and its local concurrency lane: how many of its jobs run here, and
 * the tickets waiting for a slot — parked (acknowledged, marked in the store) or held (still in their
 * physical delivery, waiting for a park turn) — in priority order, then enqueue order.
 */
import type { JobEnvelope } from './envelope.js';
import { handlerKey } from './scoped-key.js';
import type { ManagedJobHandler, ProcessorOptions } from './types.js';

/** Longest delay of a hand-back for a busy handler, in ms: a deep backlog still gets looked at again. */
export const MAX_BUSY_DELAY_MS = 30_000;
/** Most jobs parked per lane; beyond, tickets are handed back (paced) instead. */
export const MAX_PARKED = 10_000;

/**
 * A ticket still held by its physical delivery (unacknowledged) while it waits for a park turn: taking
 * it from the lane hands it back to that delivery, which runs it in its own slot.
 */
export interface HeldTicket {
  /** The lane took the job (a slot is reserved for it): the delivery runs it. */
  take(): void;
  /** The node is stopping: the delivery hands the ticket back. */
  stop(): void;
}

/** A parked (or held) ticket and the order it first arrived in (ties within one millisecond keep publish order). */
export interface Parked {
  readonly envelope: JobEnvelope;
  readonly seq: number;
  /** Set while the ticket is held by its delivery, not yet parked. */
  hold?: HeldTicket | undefined;
}

/** Does `a` run before `b` (lower priority number, then earlier enqueue, then arrival)? */
function before(a: Parked, b: Parked): boolean {
  if (a.envelope.priority !== b.envelope.priority) return a.envelope.priority < b.envelope.priority;
  if (a.envelope.enqueuedAt !== b.envelope.enqueuedAt) return a.envelope.enqueuedAt < b.envelope.enqueuedAt;
  return a.seq < b.seq;
}

/** One registered handler on this node. */
export class Registration {
  readonly key: string;
  readonly concurrency: number;
  running = 0;
  /** Parked tickets, best first. */
  private parked: Parked[] = [];
  private readonly parkedIds = new Map<string, Parked>();
  private seq = 0;
  /** Mean time a job holds a lane slot (ms), exponentially weighted; starts low so a first burst is re-offered soon. */
  private meanDurationMs = 1;
  /** The latest return slot handed out by {@link busyDelayMs} (epoch ms). */
  private nextSlotAt = 0;

  constructor(
    readonly options: ProcessorOptions,
    readonly handler: ManagedJobHandler,
  ) {
    this.key = handlerKey(options.pluginName, options.queueName, options.jobName);
    this.concurrency = options.concurrency ?? 1;
  }

  /** Takes a slot for a fresh ticket: only when one is free and no parked job is waiting for it. */
  tryEnter(): boolean {
    if (this.running >= this.concurrency || this.parked.length > 0) return false;
    this.running += 1;
    return true;
  }

  /** Frees a slot (the dispatcher then starts the best parked job, if any). */
  leave(durationMs?: number): void {
    if (durationMs !== undefined) this.meanDurationMs = this.meanDurationMs * 0.8 + durationMs * 0.2;
    this.running = Math.max(0, this.running - 1);
  }

  /** How many tickets are parked in this lane. */
  get parkedCount(): number {
    return this.parked.length;
  }

  /** Is a ticket of `jobId` parked here? */
  isParked(jobId: string): boolean {
    return this.parkedIds.has(jobId);
  }

  /**
   * Parks a ticket in priority order (a job parked again keeps its first arrival order); false when
   * the lane already parks {@link MAX_PARKED}.
   */
  park(envelope: JobEnvelope, hold?: HeldTicket): Parked | undefined {
    const known = this.parkedIds.get(envelope.jobId);
    if (known) this.unpark(known);
    if (this.parked.length >= MAX_PARKED) return undefined;
    const entry: Parked = { envelope, seq: known?.seq ?? (this.seq += 1), hold };
    let lo = 0;
    let hi = this.parked.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (before(this.parked[mid] as Parked, entry)) lo = mid + 1;
      else hi = mid;
    }
    this.parked.splice(lo, 0, entry);
    this.parkedIds.set(envelope.jobId, entry);
    return entry;
  }

  /** Is `entry` still waiting in this lane (not taken, not dropped)? */
  holds(entry: Parked): boolean {
    return this.parkedIds.get(entry.envelope.jobId) === entry;
  }

  /** Takes a slot for the best parked job, if a slot is free and a job is parked. */
  takeParked(): Parked | undefined {
    if (this.running >= this.concurrency || this.parked.length === 0) return undefined;
    const next = this.parked.shift() as Parked;
    this.parkedIds.delete(next.envelope.jobId);
    this.running += 1;
    return next;
  }

  /** Empties the parked list (the node is stopping: the caller hands every ticket back). */
  drainParked(): Parked[] {
    const all = this.parked;
    this.parked = [];
    this.parkedIds.clear();
    return all;
  }

  /** Forgets the parked ticket of `jobId` (its job turned out stale). */
  unparkJob(jobId: string): void {
    const entry = this.parkedIds.get(jobId);
    if (entry) this.unpark(entry);
  }

  private unpark(entry: Parked): void {
    const i = this.parked.indexOf(entry);
    if (i >= 0) this.parked.splice(i, 1);
    this.parkedIds.delete(entry.envelope.jobId);
  }

  /**
   * How long a handed-back job should stay away (lanes whose parking is full, busy global slots).
   * Each hand-back gets its own future slot, spaced by the time this lane needs per job, so a backlog
   * comes back at about the rate the handler works it off. At least 5 ms, at most {@link MAX_BUSY_DELAY_MS}.
   */
  busyDelayMs(): number {
    const now = Date.now();
    const spacing = Math.max(0.5, (this.meanDurationMs * 0.8) / this.concurrency);
    this.nextSlotAt = Math.min(now + MAX_BUSY_DELAY_MS, Math.max(now, this.nextSlotAt) + spacing);
    return Math.max(5, Math.round(this.nextSlotAt - now));
  }
}
