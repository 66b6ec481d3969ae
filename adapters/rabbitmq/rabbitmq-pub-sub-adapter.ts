/**
 * RabbitMQ pub/sub: one durable direct exchange per prefix (`<prefix>.pubsub`), one exclusive
 * auto-delete queue per node (`<prefix>.pubsub.node.<uuid>`) bound once per subscribed channel,
 * routing key = channel. A direct exchange matches the channel exactly, so nothing needs escaping
 * (a topic exchange would give `.`, `*` and `#` meaning). Only over-long channel names, hashed into
 * the routing key, also ride in a header (`x-ck-channel`) that keeps dispatch exact: a headers table
 * on every message would cost the broker more than the rest of a small message.
 * After a reconnect the queue is declared again and every binding restored; messages published
 * while a node was disconnected are not delivered to it (at-most-once).
 */
import { randomUUID } from 'node:crypto';
import type { Channel, ConsumeMessage } from 'amqplib';
import { ClusterError, ErrorCodes, type PubSubAdapter } from 'clusterkit/adapter-kit';
import type { RabbitMQConnection } from './connection.js';
import { race, whenClosed, whenDrained } from './link-guard.js';
import { fitName, pubSubExchange, pubSubRoutingKey } from './topology.js';

const H_CHANNEL = 'x-ck-channel';
/**
 * Properties of a pub/sub message: none. The receiver reads the body as the manager's envelope and
 * needs nothing else (a `contentType` cost 17 bytes and ~0.8 µs of client CPU per message).
 */
const PLAIN = {} as const;

/** The pub/sub adapter of one node. */
export class RabbitMQPubSubAdapter implements PubSubAdapter {
  /** The exchange shared by every node of this prefix. */
  readonly exchange: string;
  /**
   * This node's queue (exclusive: the broker deletes it when the connection goes). Renamed on every
   * setup: after a reconnect the broker may still be deleting the old one ("in exclusive use").
   */
  nodeQueue: string;
  private readonly prefix: string;
  private readonly listeners = new Map<string, (payload: string) => void>();
  private channel: Promise<Channel> | undefined;
  private live: Channel | undefined;
  private stopListening: (() => void) | undefined;
  private drained: Promise<void> | undefined;
  private connected = false;

  constructor(
    private readonly connection: RabbitMQConnection,
    prefix: string,
  ) {
    this.prefix = prefix;
    this.exchange = pubSubExchange(prefix);
    this.nodeQueue = this.freshQueueName();
  }

  async connect(): Promise<void> {
    if (this.connected) return;
    await this.connection.acquire();
    this.connected = true;
    this.stopListening = this.connection.onConnect(() => {
      this.channel = undefined;
      this.live = undefined;
      this.ready().catch((error: unknown) =>
        this.connection.logger.warn(`RabbitMQ pub/sub could not re-subscribe: ${String(error)}`, { error }),
      );
    });
    try {
      await this.ready();
    } catch (error) {
      await this.close();
      throw error;
    }
  }

  /**
   * Drops every subscription (the node queue goes with the channel) and releases the connection.
   * Bounded and never rejects (see link-guard.ts).
   */
  async close(): Promise<void> {
    if (!this.connected) return;
    this.connected = false;
    this.stopListening?.();
    this.listeners.clear();
    const opening = this.channel;
    this.channel = undefined;
    this.live = undefined;
    const guard = this.connection.guard;
    if (opening) {
      // A setup still running (a reconnect, a frozen link): waited for, bounded.
      const opened = await guard.step(opening.catch(() => undefined));
      if (opened.done) await guard.closeChannel(opened.value);
    }
    await this.connection.release();
  }

  async subscribe(channel: string, onMessage: (payload: string) => void): Promise<void> {
    this.assertConnected('subscribe');
    this.listeners.set(channel, onMessage);
    // If the channel dies meanwhile, the next setup binds every listed channel again.
    await this.connection.retrying(`pub/sub subscribe "${channel}"`, async () => {
      const ch = await this.ready();
      const bound = await race(
        ch.bindQueue(this.nodeQueue, this.exchange, pubSubRoutingKey(channel)),
        this.connection.unavailableTimeoutMs,
        whenClosed(ch),
      );
      if (!bound.done) throw bound.error ?? new Error(`queue.bind not answered (${bound.why})`);
    });
  }

  async unsubscribe(channel: string): Promise<void> {
    if (!this.listeners.delete(channel) || !this.connected) return;
    // Another subscribed channel may hash to the same key (only when over-long): keep its binding.
    const key = pubSubRoutingKey(channel);
    if ([...this.listeners.keys()].some((other) => pubSubRoutingKey(other) === key)) return;
    // No channel set up right now (reconnecting): the next setup binds only the channels still listed.
    const ch = this.live;
    if (!ch) return;
    // Bounded (it runs in app.stop()). Whatever the outcome, the channel is unsubscribed: an unbind
    // the broker refuses closes the channel, and the setup that follows leaves this channel out.
    await this.connection.guard.step(ch.unbindQueue(this.nodeQueue, this.exchange, key), ch);
  }

  /**
   * Hands the message to the broker; at-most-once. On a ready channel without backpressure it is
   * written synchronously (no promise hop). Under backpressure it waits for `drain` as a raw amqplib
   * publisher does (one shared, bounded wait per episode, not a timer per waiting publish); without
   * a ready channel it waits, bounded, for the setup or a lost connection.
   */
  async publish(channel: string, payload: string): Promise<void> {
    this.assertConnected('publish');
    // Each episode's wait is bounded (a frozen link neither drains nor closes; the bytes then queue
    // in the client); a publish resumed after `drain` finds the next episode's wait if it began.
    while (this.drained) await this.drained;
    const content = Buffer.from(payload, 'utf8');
    const key = pubSubRoutingKey(channel);
    // The routing key is the channel; only a channel too long for a routing key (hashed) needs the header.
    const options = key === channel ? PLAIN : { headers: { [H_CHANNEL]: channel } };
    const live = this.live;
    if (live) {
      try {
        if (!live.publish(this.exchange, key, content, options)) this.waitForDrain(live);
        return;
      } catch {
        // closed under us: set up again below
      }
    }
    // A channel that closed under us throws synchronously: set up again and send (bounded).
    const { ch, written } = await this.connection.retrying(`pub/sub publish "${channel}"`, async () => {
      const ch = await this.ready();
      return { ch, written: ch.publish(this.exchange, key, content, options) };
    });
    if (!written) this.waitForDrain(ch);
  }

  /** Starts a backpressure episode: publishes wait until `drain`, the channel's close, or the outage bound. */
  private waitForDrain(ch: Channel): void {
    if (this.drained) return;
    const drained = race(whenDrained(ch), this.connection.unavailableTimeoutMs).then(() => {
      if (this.drained === drained) this.drained = undefined;
    });
    this.drained = drained;
  }

  /** The channel of the current connection, set up (exchange, node queue, bindings, consumer). */
  private ready(): Promise<Channel> {
    if (!this.channel) {
      const opening = this.setup();
      this.channel = opening;
      opening.catch(() => {
        if (this.channel === opening) this.channel = undefined;
      });
    }
    return this.channel;
  }

  private async setup(): Promise<Channel> {
    const channel = await this.connection.channel((error) => {
      if (this.live !== channel) return;
      this.live = undefined;
      this.channel = undefined;
      // The broker closed the channel and said why: set up again so subscriptions keep working. A
      // lost connection closes its channels without an error; the reconnect sets up (onConnect),
      // and setting up here as well would do it twice.
      if (error && this.connected) {
        this.ready().catch((error: unknown) =>
          this.connection.logger.warn(`RabbitMQ pub/sub could not re-subscribe: ${String(error)}`, { error }),
        );
      }
    });
    // Local until it works: two setups can overlap (reconnect + broker cancel) and must not share a queue.
    const queue = this.freshQueueName();
    try {
      await channel.assertExchange(this.exchange, 'direct', { durable: true });
      await channel.assertQueue(queue, { exclusive: true, autoDelete: true, durable: false });
      for (const name of this.listeners.keys()) await channel.bindQueue(queue, this.exchange, pubSubRoutingKey(name));
      await channel.consume(queue, (message) => this.dispatch(channel, message), { noAck: true, exclusive: true });
      this.nodeQueue = queue;
      this.live = channel;
    } catch (error) {
      await this.connection.guard.closeChannel(channel);
      throw new ClusterError(
        ErrorCodes.BACKEND_UNAVAILABLE,
        `RabbitMQ pub/sub setup failed: ${(error as Error).message}`,
        {
          cause: error,
        },
      );
    }
    return channel;
  }

  private freshQueueName(): string {
    return fitName(`${this.prefix}.pubsub.node.${randomUUID()}`);
  }

  private dispatch(from: Channel, message: ConsumeMessage | null): void {
    if (!message) {
      // The broker cancelled this channel's consumer; set up again unless that already happened.
      if (from !== this.live) return;
      this.channel = undefined;
      this.live = undefined;
      if (this.connected) this.ready().catch(() => {});
      return;
    }
    const name = this.channelOf(message);
    if (name === undefined) return;
    // No listener: unsubscribed while the message was on its way (the binding is gone now).
    const listener = this.listeners.get(name);
    if (!listener) return;
    try {
      listener(message.content.toString('utf8'));
    } catch (error) {
      this.connection.logger.error('RabbitMQ pub/sub listener threw', { error });
    }
  }

  /**
   * The channel a message is for: our publishers name it in the header. A foreign producer may
   * leave the header out; then the routing key names it (it is the channel, hashed only when
   * over-long), so the manager still decodes the body and logs why it drops it. A message that
   * names no subscribed channel is dropped here, with a logged reason (never silently).
   */
  private channelOf(message: ConsumeMessage): string | undefined {
    const header: unknown = message.properties.headers?.[H_CHANNEL];
    if (typeof header === 'string') return header;
    const routingKey = message.fields.routingKey;
    // Our publishers send the header only for hashed (over-long) channel names.
    if (header === undefined && this.listeners.has(routingKey)) return routingKey;
    const reason =
      header === undefined
        ? `no ${H_CHANNEL} header and routing key "${routingKey}" matches no channel subscribed on this node`
        : `${H_CHANNEL} header is a ${typeof header}, not a string`;
    if (header === undefined) {
      for (const name of this.listeners.keys()) if (pubSubRoutingKey(name) === routingKey) return name;
    }
    this.connection.logger.warn('RabbitMQ pub/sub: dropped a malformed message', {
      code: ErrorCodes.MALFORMED_MESSAGE,
      exchange: message.fields.exchange,
      routingKey,
      reason,
    });
    return undefined;
  }

  private assertConnected(call: string): void {
    if (!this.connected) {
      throw new ClusterError(ErrorCodes.NOT_CONNECTED, `RabbitMQ pub/sub adapter: ${call}() before connect()`);
    }
  }
}
