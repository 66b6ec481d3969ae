/**
 * One consumer of one work queue: its own channel with prefetch = concurrency, acks only after the
 * manager's outcome is carried out (a retry/release/dead-letter copy is confirmed BEFORE the
 * original is acked), a gate (`isIdle`) that cancels the AMQP consumer instead of sitting on
 * deliveries, and re-attachment after reconnects or a broker-side cancel — exactly once per
 * connection. Its close is bounded (see link-guard.ts): only the handlers themselves are waited for
 * without a deadline here, and the manager bounds those (grace period, then abort, then abandon).
 */
import { randomUUID } from 'node:crypto';
import type { Channel, ConsumeMessage } from 'amqplib';
import {
  ClusterError,
  ErrorCodes,
  serializeError,
  type ConsumeOptions,
  type Delivery,
  type DeliveryOutcome,
  type QueueConsumer,
} from 'clusterkit/adapter-kit';
import type { RabbitMQConnection } from './connection.js';
import { acksOf } from './ack-batcher.js';
import { flushAcks } from './flush-acks.js';
import { race, whenClosed } from './link-guard.js';
import { bodyText, H_ATTEMPT, H_DELIVER_AT, intHeader } from './message-format.js';
import type { RecordSender } from './record-sender.js';
import { ackQuietly, settleDelivery } from './settle-delivery.js';
import { declareWorkQueue, type QueueNames } from './topology.js';

/** Default gate recheck interval, in ms. */
const DEFAULT_IDLE_RECHECK_MS = 100;
/** Wait before re-attaching after the broker cancelled us or a channel failed, in ms. */
const REATTACH_DELAY_MS = 250;
/** Longest wait for a consume-ok (or a watchdog check) before the channel is given up, in ms. */
const RPC_TIMEOUT_MS = 5_000;
/** How often a consuming consumer checks that its queue still exists and still counts it, in ms. */
const WATCHDOG_MS = 5_000;

/** A running consumer; see the module comment. */
export class RabbitMQQueueConsumer implements QueueConsumer {
  private channel: Channel | undefined;
  /** The connection generation `channel` was opened on: one attach per connection. */
  private channelGeneration = -1;
  private consumerTag: string | undefined;
  private closing = false;
  private closed: Promise<void> | undefined;
  /** Deliveries taken and not settled yet (handler running, or its outcome being carried out). */
  private inFlight = 0;
  /** Of those, deliveries whose handler is running. */
  private handling = 0;
  private readonly waiters = new Set<{ test: () => boolean; resolve: () => void }>();
  private gateTimer: NodeJS.Timeout | undefined;
  private watchdog: NodeJS.Timeout | undefined;
  private reattachTimer: NodeJS.Timeout | undefined;
  private steps: Promise<void> = Promise.resolve();
  private readonly stopListening: () => void;

  constructor(
    private readonly connection: RabbitMQConnection,
    private readonly sender: RecordSender,
    private readonly names: QueueNames,
    private readonly options: ConsumeOptions,
    private readonly deliver: (delivery: Delivery) => Promise<DeliveryOutcome>,
    private readonly track: (delta: number) => void,
  ) {
    this.stopListening = connection.onConnect(() => this.step(() => this.attach()));
  }

  /** Attaches the first time; rejects if the queue cannot be declared or consumed. */
  async start(): Promise<void> {
    await this.connection.retrying(`consume "${this.names.logical}"`, () => this.attach());
    // A queue deleted and re-created under us (operator, obliterate on another node) can leave this
    // consumer attached to the dying queue without a cancel: check now and then, re-attach if so.
    this.watchdog = setInterval(() => this.step(() => this.checkAttached()), WATCHDOG_MS);
    this.watchdog.unref();
    if (this.options.isIdle) {
      const every = this.options.idleRecheckMs ?? DEFAULT_IDLE_RECHECK_MS;
      this.gateTimer = setInterval(() => this.step(() => this.applyGate()), every);
      this.gateTimer.unref();
    }
  }

  /**
   * Cancels the AMQP consumer, waits for in-flight deliveries to settle (each acked on its own
   * channel), waits until the broker applied those acks, then closes the channel. Every broker
   * wait is bounded; a delivery whose outcome was not carried out in time stays unacked and the
   * broker hands it out again (at-least-once).
   */
  close(): Promise<void> {
    this.closed ??= this.shutdown();
    return this.closed;
  }

  private async shutdown(): Promise<void> {
    this.closing = true;
    this.stopListening();
    clearInterval(this.gateTimer);
    clearInterval(this.watchdog);
    clearTimeout(this.reattachTimer);
    const guard = this.connection.guard;
    // An attach or gate flip in progress: finished, or given up on (attach checks `closing`).
    await guard.step(this.steps);
    const channel = this.channel;
    await this.cancel();
    await this.until(() => this.handling === 0);
    // Their outcomes (copies published and confirmed, then acks) get the stop deadline.
    await guard.step(
      this.until(() => this.inFlight === 0),
      channel,
    );
    this.channel = undefined;
    if (!channel) return;
    // Acks of deliveries that finished while closing must be applied before the channel closes.
    acksOf(channel).flushNow();
    await flushAcks(guard, channel, this.names.main);
    // Anything delivered but not handled (arrived while cancelling) goes back to the queue.
    await guard.closeChannel(channel);
  }

  /** Resolves once `test()` holds; checked whenever a delivery changes phase. */
  private until(test: () => boolean): Promise<void> {
    if (test()) return Promise.resolve();
    return new Promise((resolve) => this.waiters.add({ test, resolve }));
  }

  private changed(): void {
    if (this.waiters.size === 0) return;
    for (const waiter of [...this.waiters]) {
      if (!waiter.test()) continue;
      this.waiters.delete(waiter);
      waiter.resolve();
    }
  }

  private gateOpen(): boolean {
    try {
      return this.options.isIdle?.() !== false;
    } catch {
      return true;
    }
  }

  /** Serializes attach/cancel/consume so a reconnect and a gate flip never interleave. */
  private step(fn: () => Promise<void>): void {
    this.steps = this.steps.then(fn).catch((error: unknown) => {
      this.connection.logger.warn(`RabbitMQ consumer of "${this.names.logical}" failed to attach: ${String(error)}`, {
        error,
      });
      this.scheduleReattach();
    });
  }

  private scheduleReattach(): void {
    if (this.closing || this.reattachTimer) return;
    this.reattachTimer = setTimeout(() => {
      this.reattachTimer = undefined;
      this.step(() => this.attach());
    }, REATTACH_DELAY_MS);
    this.reattachTimer.unref();
  }

  /**
   * Opens a channel on the current connection and consumes. Once per connection: a reconnect and a
   * re-attach timer may both ask, and a second attach would close the first channel under its
   * deliveries (the broker then hands them out again). `force` replaces a live channel (watchdog).
   */
  private async attach(force = false): Promise<void> {
    if (this.closing) return;
    if (!force && this.channel && this.channelGeneration === this.connection.generation) return;
    const guard = this.connection.guard;
    const old = this.channel;
    this.channel = undefined;
    this.consumerTag = undefined;
    await guard.closeChannel(old);
    const channel = await this.connection.channel((error) => {
      if (this.channel !== channel) return;
      this.channel = undefined;
      this.consumerTag = undefined;
      // The broker closed the channel and said why: attach again. A lost connection closes its
      // channels without an error, before the connection itself; the reconnect attaches (onConnect).
      if (error) this.scheduleReattach();
    });
    const generation = this.connection.generation;
    try {
      if (this.closing) throw new ClusterError(ErrorCodes.NOT_CONNECTED, 'consumer closed while attaching');
      await channel.prefetch(this.options.concurrency);
      // Declared on this channel every time, not through the publisher's per-connection memo: the
      // queue may have been deleted since (that is often why we are re-attaching).
      await declareWorkQueue(channel, this.names, this.sender.settings);
      if (this.closing) throw new ClusterError(ErrorCodes.NOT_CONNECTED, 'consumer closed while attaching');
    } catch (error) {
      await guard.closeChannel(channel);
      if (this.closing) return;
      throw error;
    }
    this.channel = channel;
    this.channelGeneration = generation;
    if (this.gateOpen()) await this.consume();
  }

  private async consume(): Promise<void> {
    const channel = this.channel;
    if (!channel || this.consumerTag || this.closing) return;
    // Bounded: against a queue the broker is still deleting, consume-ok may never come. The channel
    // is then given up, and the step's error path re-attaches on a fresh one.
    const outcome = await race(
      channel.consume(this.names.main, (message) => this.onMessage(channel, message), { noAck: false }),
      RPC_TIMEOUT_MS,
      whenClosed(channel),
    );
    if (!outcome.done) {
      if (this.channel === channel) this.channel = undefined;
      void this.connection.guard.closeChannel(channel);
      throw outcome.error ?? new Error(`basic.consume on "${this.names.main}" not answered (${outcome.why})`);
    }
    this.consumerTag = outcome.value.consumerTag;
  }

  private async cancel(): Promise<void> {
    const channel = this.channel;
    const tag = this.consumerTag;
    this.consumerTag = undefined;
    if (!channel || !tag) return;
    try {
      await this.connection.guard.step(channel.cancel(tag), channel);
    } catch {
      // the channel is closed: so is the consumer
    }
  }

  private async checkAttached(): Promise<void> {
    const channel = this.channel;
    if (this.closing || !channel || !this.consumerTag) return;
    // A 404 closes the channel, whose close handler re-attaches (declaring the queue again).
    const outcome = await race(channel.checkQueue(this.names.main), RPC_TIMEOUT_MS, whenClosed(channel));
    if (!outcome.done) return;
    if (outcome.value.consumerCount === 0 && this.channel === channel && this.consumerTag) await this.attach(true);
  }

  private async applyGate(): Promise<void> {
    if (this.closing || !this.channel) return;
    const open = this.gateOpen();
    if (open && !this.consumerTag) await this.consume();
    else if (!open && this.consumerTag) await this.cancel();
  }

  private onMessage(channel: Channel, message: ConsumeMessage | null): void {
    if (message === null) {
      // The broker cancelled us (queue deleted or failed over): declare and consume again on the same
      // channel, so deliveries still being handled can be acked.
      if (this.channel === channel) {
        this.consumerTag = undefined;
        // After a pause: declaring while the broker is still deleting the queue attaches us to the
        // dying queue, and no second cancel comes.
        const timer = setTimeout(() => {
          this.step(async () => {
            if (this.channel !== channel || this.closing) return;
            await declareWorkQueue(channel, this.names, this.sender.settings);
            if (this.gateOpen()) await this.consume();
          });
        }, REATTACH_DELAY_MS);
        timer.unref();
      }
      return;
    }
    this.inFlight += 1;
    this.track(1);
    // handle() never rejects and ends with handled() itself: no `.finally` promise and closure per delivery.
    void this.handle(channel, message);
  }

  /** A delivery is settled (or left to the broker): the counters, waiters and gate. */
  private handled(): void {
    this.inFlight -= 1;
    this.track(-1);
    this.changed();
    // A closed gate may have opened with this delivery: ask now, not at the next interval tick.
    if (this.options.isIdle && !this.consumerTag && !this.closing) this.step(() => this.applyGate());
  }

  /** Handles one delivery; never rejects, and ends its bookkeeping ({@link handled}) itself. */
  private async handle(channel: Channel, message: ConsumeMessage): Promise<void> {
    try {
      const props = message.properties;
      const id =
        typeof props.messageId === 'string' && props.messageId !== '' ? props.messageId : `amqp-${randomUUID()}`;
      const attempt = intHeader(props, H_ATTEMPT, 0);
      try {
        // Delayed and not due yet: on to the delay level of the remaining time. Not "taking" it.
        const deliverAt = intHeader(props, H_DELIVER_AT, 0);
        if (deliverAt > Date.now()) {
          await this.sender.resend(this.names, message, id, attempt, deliverAt);
          return ackQuietly(channel, message);
        }
        // Delivered while closing (before cancel-ok): leave it unacked; closing the channel returns it.
        if (this.closing) return;
        if (!this.gateOpen()) {
          // Do not sit on it while busy: give it back at once and stop taking more until the gate opens.
          if (this.channel === channel) {
            channel.reject(message, true);
            acksOf(channel).settled(message);
          }
          this.step(() => this.applyGate());
          return;
        }
        const body = bodyText(message);
        if (body === undefined) {
          const error = new ClusterError(
            ErrorCodes.MALFORMED_MESSAGE,
            'message body is not UTF-8 text (not a clusterkit record)',
          );
          await this.sender.deadLetter(this.names, message, id, attempt + 1, serializeError(error));
          return ackQuietly(channel, message);
        }
        this.handling += 1;
        let outcome: DeliveryOutcome;
        try {
          outcome = await this.deliver({ id, body, attempt });
        } finally {
          this.handling -= 1;
          this.changed();
        }
        // The channel died meanwhile: the broker redelivers the original, so do not copy it as well.
        if (this.channel !== channel) return;
        // The common outcome needs no publish first: ack without settleDelivery's frame.
        if (outcome.type === 'ack') return ackQuietly(channel, message);
        await settleDelivery(this.sender, this.names, channel, message, id, attempt, outcome);
      } catch (error) {
        this.connection.logger.error(`RabbitMQ consumer of "${this.names.logical}" could not settle message ${id}`, {
          error,
        });
        // Not acked: it returns to the queue when the channel closes, or now if the channel is fine.
        if (this.channel === channel) {
          try {
            channel.nack(message, false, true);
            acksOf(channel).settled(message);
          } catch {
            // channel already closed: the broker requeues it
          }
        }
      }
    } finally {
      this.handled();
    }
  }
}
