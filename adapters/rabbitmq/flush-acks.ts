/**
 * Waits until the broker has applied the acks sent on a consumer channel, so closing the channel
 * right after cannot hand finished messages back.
 *
 * Why it is needed: inside the broker, a channel talks to a quorum queue through a Raft client that
 * pipelines at most ~32 unapplied commands per queue and holds further acks back until earlier ones
 * are applied. Closing the channel drops what it still holds, and those messages return to the queue
 * although their handlers finished: the fault suite saw 66 of 100 handled messages run again on
 * another node after a graceful stop, every time (100 acks in one burst, 34 sent, 66 held).
 *
 * How: registering and cancelling a consumer on the queue are synchronous Raft commands, applied
 * after every command the channel sent before them. The first round trip lets the held-back acks go
 * out (the applied notifications reach the channel before its reply), the second waits until they
 * are applied. The probe consumer asks for zero credit (`x-credit`), so it takes no message.
 */
import type { Channel } from 'amqplib';
import type { LinkGuard } from './link-guard.js';

/**
 * Two synchronous round trips through `queue` on `channel` (see the module comment). Never rejects:
 * if the channel or queue is gone, unapplied acks are lost with it and the broker redelivers those
 * messages (at-least-once), as for a connection lost mid-handler. Bounded by `guard` (a dead or
 * frozen link, a channel closing under it: see link-guard.ts).
 */
export async function flushAcks(guard: LinkGuard, channel: Channel, queue: string): Promise<void> {
  await guard.step(probe(channel, queue), channel);
}

async function probe(channel: Channel, queue: string): Promise<void> {
  // A broker without `x-credit` (RabbitMQ 4.x dropped it) may deliver to the probe: at most one
  // message then, left unacked, and it returns to the queue when the channel closes.
  await channel.prefetch(1);
  const { consumerTag } = await channel.consume(queue, () => {}, {
    noAck: false,
    // `credit` must be a 64-bit `long`: RabbitMQ ignores the argument for any other integer type
    // (and amqplib would encode 0 as a byte).
    arguments: { 'x-credit': { credit: { '!': 'long', value: 0 }, drain: false } },
  });
  await channel.cancel(consumerTag);
}
