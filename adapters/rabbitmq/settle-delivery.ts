/**
 * Carrying out a handled delivery's outcome: the retry, release or dead-letter copy is published
 * and confirmed BEFORE the original is acked, so a crash in between leaves two copies (at-least-once),
 * never none.
 */
import type { Channel, ConsumeMessage } from 'amqplib';
import type { DeliveryOutcome } from 'clusterkit/adapter-kit';
import { acksOf } from './ack-batcher.js';
import type { RecordSender } from './record-sender.js';
import type { QueueNames } from './topology.js';

/** Publishes what `outcome` asks for (confirmed), then acks `message` on `channel`. */
export async function settleDelivery(
  sender: RecordSender,
  names: QueueNames,
  channel: Channel,
  message: ConsumeMessage,
  id: string,
  attempt: number,
  outcome: DeliveryOutcome,
): Promise<void> {
  switch (outcome.type) {
    case 'ack':
      break;
    case 'retry':
      await sender.resend(names, message, id, attempt + 1, dueAt(outcome.delayMs));
      break;
    case 'release':
      await sender.resend(names, message, id, attempt, dueAt(outcome.delayMs));
      break;
    case 'dead':
      // The dead letter counts this failed attempt too (as every adapter does).
      await sender.deadLetter(names, message, id, attempt + 1, outcome.error);
      break;
  }
  ackQuietly(channel, message);
}

/**
 * Acks `message` at the end of the current tick, batched with the channel's other acks (see
 * ack-batcher.ts); a channel closed meanwhile means the broker hands the original out again.
 */
export function ackQuietly(channel: Channel, message: ConsumeMessage): void {
  acksOf(channel).ack(message);
}

function dueAt(delayMs: number): number | undefined {
  return delayMs >= 1 ? Date.now() + delayMs : undefined;
}
