/**
 * The shapes the memory queue works with: a stored record (handed to consumers as the delivery
 * itself), a consumer, the record states and the delayed-heap order.
 */
import type { SerializedError } from '../errors.js';
import type { Delivery, DeliveryOutcome } from './types.js';

/** Record states. */
export const WAITING = 0;
export const DELAYED = 1;
export const ACTIVE = 2;
export const DEAD = 3;

/** A stored record. It is handed to consumers as the {@link Delivery} itself (one allocation less per message). */
export interface MemoryRecord extends Delivery {
  readonly id: string;
  readonly body: string;
  readonly priority: number;
  /** Publish order within a priority; renewed on retry and redrive (they go to the back). */
  seq: number;
  attempt: number;
  state: number;
  /** The queue's epoch when stored; see `MemoryQueue.clear()`. */
  readonly epoch: number;
  /** Epoch ms at which a delayed record becomes due. */
  dueAt: number;
  error?: SerializedError;
  failedAt: number;
}

/** A consumer attached to a queue (one per node subscription). */
export interface MemoryConsumer {
  readonly concurrency: number;
  readonly isIdle?: () => boolean;
  readonly idleRecheckMs: number;
  readonly deliver: (delivery: Delivery) => Promise<DeliveryOutcome>;
  inFlight: number;
  closing: boolean;
  /** Stamp of the dispatch pass that found it gated, so its gate is asked once per pass. */
  gatedPass: number;
  drained?: () => void;
}

/** Delayed order: due time, then publish sequence. */
export const byDue = (a: MemoryRecord, b: MemoryRecord) => a.dueAt < b.dueAt || (a.dueAt === b.dueAt && a.seq < b.seq);

/** Asks a consumer's gate; a throwing gate counts as closed (the manager's wrapper reports it). */
export function gateOpen(c: MemoryConsumer): boolean {
  try {
    return c.isIdle?.() !== false;
  } catch {
    return false;
  }
}
