/**
 * Publishes job tickets on the physical queue through the event-queue manager's public API.
 * Priority and delay are passed only where the adapter supports them (the manager refuses them
 * otherwise): without priority support tickets run in publish order; without delay support a
 * hand-back comes back at once.
 */
import { createHash } from 'node:crypto';
import type { EventQueueManager } from '../event-queue/event-queue-manager.js';
import { MAX_PRIORITY } from '../event-queue/event-queue-options.js';
import type { JobEnvelope } from './envelope.js';
import type { PreparedTicket } from './job-store.js';

/**
 * Publishes one ticket with an idempotency id (`<jobId>|<nonce>|<gen>`, plus a random suffix for
 * hand-backs). `physicalPriority` (default: the job's priority) orders it on the physical queue.
 */
export type TicketPublisher = (
  envelope: JobEnvelope,
  delayMs: number,
  physicalId: string,
  physicalPriority?: number,
  /** A database transaction to publish in (event-queue capability `transactional`). */
  transaction?: unknown,
) => Promise<void>;

/**
 * Prepares one ticket (as {@link TicketPublisher} would publish it, before any backlog demotion) for
 * a store that writes it together with the job's record (`JobStore.createWithTicket`).
 */
export type TicketPreparer = (envelope: JobEnvelope, delayMs: number, physicalId: string) => PreparedTicket;

/** Longest physical id sent as is; longer ones are hashed (deterministically, so still idempotent). */
const MAX_PHYSICAL_ID = 400;

/** The publish options of one ticket. */
function ticketOptions(eventQueue: EventQueueManager, delayMs: number, physicalId: string, physicalPriority: number) {
  const caps = eventQueue.capabilities;
  return {
    jobId:
      physicalId.length > MAX_PHYSICAL_ID ? `h:${createHash('sha256').update(physicalId).digest('hex')}` : physicalId,
    ...(caps.priority ? { priority: Math.min(MAX_PRIORITY, physicalPriority) } : {}),
    ...(caps.delay && delayMs > 0 ? { delay: delayMs } : {}),
  };
}

/** Creates the publisher of the physical queue `channel`. */
export function createTicketPublisher(eventQueue: EventQueueManager, channel: string): TicketPublisher {
  return async (envelope, delayMs, physicalId, physicalPriority = envelope.priority, transaction?: unknown) => {
    await eventQueue.publish(channel, envelope, {
      ...ticketOptions(eventQueue, delayMs, physicalId, physicalPriority),
      ...(transaction === undefined ? {} : { transaction }),
    });
  };
}

/** Creates the ticket preparer of the physical queue `channel` (same options as its publisher). */
export function createTicketPreparer(eventQueue: EventQueueManager, channel: string): TicketPreparer {
  return (envelope, delayMs, physicalId) => {
    const prepared = eventQueue.prepareRecord(
      channel,
      envelope,
      ticketOptions(eventQueue, delayMs, physicalId, envelope.priority),
    );
    return {
      adapter: prepared.adapter,
      queue: prepared.queue,
      record: prepared.record,
      backlogThreshold: eventQueue.capabilities.priority ? BACKLOG_THRESHOLD : Number.POSITIVE_INFINITY,
      maxPriority: MAX_PRIORITY,
    };
  };
}

/** A handler's fresh tickets sort behind other handlers' once it has more than this many queued. */
export const BACKLOG_THRESHOLD = 16;

/**
 * The physical priority of a fresh ticket: its own, demoted by one level per doubling of its handler's
 * backlog beyond `threshold` (default {@link BACKLOG_THRESHOLD}; infinite: never demoted), so the
 * fresh work of an idle handler sorts ahead of another handler's deep backlog (the order among one
 * handler's own jobs is restored by its lane).
 */
export function physicalPriority(priority: number, backlog: number, threshold = BACKLOG_THRESHOLD): number {
  if (!(backlog > threshold) || !Number.isFinite(threshold)) return priority;
  return priority + Math.ceil(Math.log2(backlog / threshold));
}
