/**
 * Acks of one consumer channel, batched: the acks of deliveries settled in one run of the event
 * loop's tick/microtask queues are sent together at its end, as ONE `basic.ack` with `multiple` for
 * the longest run of consecutive delivery tags that are all settled, and single acks for the others.
 *
 * Never acks an unsettled delivery: delivery tags are numbered 1, 2, 3... per channel (every
 * consumer of the channel shares the sequence), and a `multiple` ack up to tag T is sent only when
 * every tag up to T is known here as settled — acked through this class, or rejected/nacked with
 * {@link AckBatcher.settled}. A tag this class never heard of (a delivery left unacked on purpose, a
 * probe consumer's delivery) stops the run; deliveries settled after it are acked one by one, so a
 * slow handler never holds back the acks of faster ones beyond the current tick.
 */
import type { Channel, Message } from 'amqplib';

/**
 * Settled tags remembered above a gap before the already-sent ones are forgotten. A handler that
 * never returns holds its tag (the gap) for ever; without a bound, every later delivery would be
 * remembered. Forgetting is safe: a forgotten tag ends a run like an unsettled one, so the acks
 * after it are sent one by one.
 */
const MAX_REMEMBERED = 4_096;

/** See the module comment. One per channel: {@link acksOf}. */
export class AckBatcher {
  /** Every tag up to this one is settled and its ack sent (or not needed). */
  private settledUpTo = 0;
  /** Settled tags above `settledUpTo`: the message when its ack is still to be sent, else null. */
  private readonly above = new Map<number, Message | null>();
  /** Tags acked since the last flush. */
  private fresh: number[] = [];
  private scheduled = false;

  constructor(private readonly channel: Channel) {}

  /** How many settled tags above the first gap are remembered (bounded; for tests). */
  get remembered(): number {
    return this.above.size;
  }

  /** Acks `message` at the end of the current tick. Never throws (a closed channel: the broker requeues). */
  ack(message: Message): void {
    const tag = message.fields.deliveryTag;
    if (tag <= this.settledUpTo || this.above.has(tag)) return;
    this.above.set(tag, message);
    this.fresh.push(tag);
    if (!this.scheduled) {
      this.scheduled = true;
      process.nextTick(this.flushNow);
    }
  }

  /** Records that `message` was settled another way (rejected or nacked, already sent). */
  settled(message: Message): void {
    const tag = message.fields.deliveryTag;
    if (tag <= this.settledUpTo || this.above.has(tag)) return;
    this.above.set(tag, null);
    if (tag === this.settledUpTo + 1 && !this.scheduled) {
      // It may close a gap: let the next flush see the run behind it.
      this.scheduled = true;
      process.nextTick(this.flushNow);
    }
  }

  /** Sends every pending ack now (before a channel is flushed and closed). */
  readonly flushNow = (): void => {
    this.scheduled = false;
    let last: Message | undefined;
    for (;;) {
      const next = this.settledUpTo + 1;
      if (!this.above.has(next)) break;
      const message = this.above.get(next);
      this.above.delete(next);
      this.settledUpTo = next;
      if (message) last = message;
    }
    try {
      if (last) this.channel.ack(last, true);
      const fresh = this.fresh;
      this.fresh = [];
      for (const tag of fresh) {
        if (tag <= this.settledUpTo) continue;
        const message = this.above.get(tag);
        if (!message) continue;
        this.above.set(tag, null);
        this.channel.ack(message);
      }
    } catch {
      // The channel closed: the broker hands every unacked delivery out again (at-least-once).
      this.fresh = [];
    }
    if (this.above.size > MAX_REMEMBERED) {
      for (const [tag, message] of this.above) if (message === null) this.above.delete(tag);
    }
  };
}

const batchers = new WeakMap<Channel, AckBatcher>();

/** The ack batcher of `channel`, created on first use. */
export function acksOf(channel: Channel): AckBatcher {
  let batcher = batchers.get(channel);
  if (!batcher) {
    batcher = new AckBatcher(channel);
    batchers.set(channel, batcher);
  }
  return batcher;
}
