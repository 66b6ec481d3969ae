/**
 * Publishes job tickets on the physical queue through the event-queue manager's public API.
 * Priority and delay are passed only where the adapter supports them (the manager refuses them
 * otherwise): without priority support tickets run in publish order; without delay support a
 * hand-back comes back at once.
 */
import { createHash } from 'node:crypto';
import type { EventQueueManager } from '../event-queue/event-queue-manager.js';
import type { JobEnvelope } from './envelope.js';

/** Publishes one ticket with an idempotency id (`<jobId>|<gen>`, or a random suffix for hand-backs). */
export type TicketPublisher = (envelope: JobEnvelope, delayMs: number, physicalId: string) => Promise<void>;

/** Longest physical id sent as is; longer ones are hashed (deterministically, so still idempotent). */
const MAX_PHYSICAL_ID = 400;

/** Creates the publisher of the physical queue `channel`. */
export function createTicketPublisher(eventQueue: EventQueueManager, channel: string): TicketPublisher {
  return async (envelope, delayMs, physicalId) => {
    const caps = eventQueue.capabilities;
    await eventQueue.publish(channel, envelope, {
      jobId:
        physicalId.length > MAX_PHYSICAL_ID ? `h:${createHash('sha256').update(physicalId).digest('hex')}` : physicalId,
      ...(caps.priority ? { priority: envelope.priority } : {}),
      ...(caps.delay && delayMs > 0 ? { delay: delayMs } : {}),
    });
  };
}
