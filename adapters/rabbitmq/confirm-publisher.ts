/**
 * Publishing that resolves only once the broker has the message: a ConfirmChannel per connection,
 * `drain` backpressure, topology declared once per connection on a separate channel (a failed
 * declaration closes its channel; it must not take unconfirmed publishes down with it), and a
 * bounded wait through connection outages. A publish whose confirm was lost with the connection is
 * sent again after recovery: at-least-once, never silently dropped.
 */
import type { Channel, ConfirmChannel, Message, Options } from 'amqplib';
import { ClusterError, isClusterError, ErrorCodes } from 'clusterkit/adapter-kit';
import type { RabbitMQConnection } from './connection.js';
import { DeadlineQueue } from './deadline-queue.js';
import { race, whenDrained } from './link-guard.js';
import { PendingConfirm, type ConfirmOwner, type ConfirmTarget } from './pending-confirm.js';

/** One publish target (the default exchange + queue name, or an exchange + routing key). */
export type PublishTarget = ConfirmTarget;

/** Confirmed publishing and memoized declarations over a {@link RabbitMQConnection}. */
export class ConfirmPublisher implements ConfirmOwner {
  private confirm: Promise<ConfirmChannel> | undefined;
  /** The confirm channel once open (`confirm` resolved), for the publish fast path. */
  private live: ConfirmChannel | undefined;
  private topology: Promise<Channel> | undefined;
  private drained: Promise<void> | undefined;
  private readonly declared = new Map<string, Promise<void>>();
  /** Keys of {@link declared} whose declaration succeeded on the current connection. */
  private readonly done = new Set<string>();
  /** Messages the broker returned as unroutable, until their confirm arrives. */
  private readonly returned = new Set<string>();
  private declaredGeneration = -1;
  private readonly deadlines = new DeadlineQueue();

  constructor(private readonly connection: RabbitMQConnection) {}

  /**
   * Runs `declare` once per connection for `key` (concurrent callers share the same run). Returns
   * undefined, synchronously, once it is done: the hot publish path then awaits nothing.
   */
  ensure(key: string, declare: (channel: Channel) => Promise<unknown>): Promise<void> | undefined {
    if (this.declaredGeneration !== this.connection.generation) {
      this.declared.clear();
      this.done.clear();
      this.declaredGeneration = this.connection.generation;
    }
    if (this.done.has(key)) return undefined;
    let pending = this.declared.get(key);
    if (!pending) {
      const running = this.topologyChannel().then(async (channel) => {
        await declare(channel);
        if (this.declared.get(key) === running) this.done.add(key);
      });
      pending = running;
      this.declared.set(key, running);
      running.catch(() => {
        if (this.declared.get(key) === running) this.declared.delete(key);
      });
    }
    return pending;
  }

  /** Forgets declarations (after deleting queues, so the next publish declares them again). */
  forget(prefix: string): void {
    for (const key of [...this.declared.keys()]) {
      if (!key.startsWith(prefix)) continue;
      this.declared.delete(key);
      this.done.delete(key);
    }
  }

  /** Runs `fn` on the topology channel (checks, deletes, gets); the channel is replaced if `fn` kills it. */
  async withTopologyChannel<T>(fn: (channel: Channel) => Promise<T>): Promise<T> {
    return fn(await this.topologyChannel());
  }

  /**
   * Publishes and resolves once the broker confirmed. `prepare` (declarations) runs before each
   * try; it returns undefined when there is nothing to wait for. Rejects with `BACKEND_UNAVAILABLE`
   * when the broker nacks or stays unreachable past the connection's `unavailableTimeoutMs`.
   */
  publish(
    target: PublishTarget,
    content: Buffer,
    options: Options.Publish,
    prepare?: () => Promise<void> | undefined,
  ): Promise<void> {
    const deadline = Date.now() + this.connection.unavailableTimeoutMs;
    // The common case (declared, channel open, no backpressure) keeps nothing suspended per message
    // but the confirm's own promise: hundreds of publishes wait at once, and every object each one
    // holds until its confirm outlives a young-generation GC.
    const live = this.live;
    if (live && !this.drained && prepare?.() === undefined) {
      return this.sendFast(live, target, content, options, prepare, deadline);
    }
    return this.publishSlowly(target, content, options, prepare, deadline);
  }

  /**
   * The first try of the fast path: one {@link PendingConfirm} holds everything the wait needs; a
   * failure hands over to {@link publishSlowly} (as the first of its tries) within the same deadline.
   */
  private sendFast(
    channel: ConfirmChannel,
    target: PublishTarget,
    content: Buffer,
    options: Options.Publish,
    prepare: (() => Promise<void> | undefined) | undefined,
    deadline: number,
  ): Promise<void> {
    const pending = new PendingConfirm(this, target, content, options, prepare, deadline);
    // A blocked broker (memory/disk alarm) neither confirms nor closes: bound the wait.
    this.deadlines.push(pending);
    // mandatory (publishOptions sets it already): a queue deleted since we declared it makes the
    // broker return the message (before its confirm) instead of confirming and dropping it.
    const sent = options.mandatory ? options : { ...options, mandatory: true };
    try {
      if (!channel.publish(target.exchange, target.routingKey, content, sent, pending.onConfirm)) {
        this.waitForDrain(channel);
      }
    } catch (error) {
      // The channel closed under us (amqplib throws synchronously): the slow path tries again.
      this.confirmed(pending, error);
    }
    return pending.promise;
  }

  /** @internal The confirm (or failure) of a fast-path publish. */
  confirmed(pending: PendingConfirm, error: unknown): void {
    if (pending.done) return;
    this.deadlines.settle(pending);
    let failure: unknown = error;
    if (failure === undefined || failure === null) {
      if (
        this.returned.size === 0 ||
        !this.returned.delete(returnKey(pending.target.routingKey, pending.options.messageId))
      ) {
        return pending.resolve();
      }
      failure = new Error(UNROUTABLE);
    } else if (!(failure instanceof Error)) {
      failure = new Error(String(failure));
    }
    pending.resolve(
      this.publishSlowly(pending.target, pending.content, pending.options, pending.prepare, pending.at, failure),
    );
  }

  /** @internal A fast-path publish's deadline passed before its confirm. */
  expired(pending: PendingConfirm): void {
    pending.reject(
      new ClusterError(
        ErrorCodes.BACKEND_UNAVAILABLE,
        unconfirmed(pending.target, this.connection.unavailableTimeoutMs),
      ),
    );
  }

  /** The publish loop: waits (bounded) for declarations, a channel, `drain`; tries again after transient failures. */
  private async publishSlowly(
    target: PublishTarget,
    content: Buffer,
    options: Options.Publish,
    prepare: (() => Promise<void> | undefined) | undefined,
    deadline: number,
    firstError?: unknown,
  ): Promise<void> {
    // A failed fast-path try counts as the first try.
    let failed = firstError;
    for (let tries = 1; ; tries++) {
      try {
        if (failed !== undefined) {
          const error = failed;
          failed = undefined;
          throw error;
        }
        const preparing = prepare?.();
        if (preparing) await preparing;
        const channel = this.live ?? (await this.confirmChannel());
        // Bounded too: a frozen link neither drains nor closes.
        if (this.drained) await race(this.drained, Math.max(1, deadline - Date.now()));
        await this.send(channel, target, content, options, deadline);
        return;
      } catch (error) {
        if (isClusterError(error)) throw error;
        const message = (error as Error).message;
        // Declare again (someone deleted the queue) and send again, within the same bound.
        if (message === UNROUTABLE) this.forget('');
        if (message === 'message nacked') {
          throw new ClusterError(
            ErrorCodes.BACKEND_UNAVAILABLE,
            `RabbitMQ refused the message (nack) for ${describe(target)}`,
            { cause: error },
          );
        }
        if (Date.now() >= deadline) {
          throw new ClusterError(
            ErrorCodes.BACKEND_UNAVAILABLE,
            `RabbitMQ publish to ${describe(target)} not confirmed after ${tries} tries: ${message}`,
            { cause: error },
          );
        }
        // The channel or connection went away: the next try waits (bounded) for recovery.
        await pause(Math.min(50 * tries, 500));
      }
    }
  }

  /**
   * One try of the slow path on `channel`, settled by its confirm, a return, or the deadline (a
   * timer of its own: a retry keeps its earlier deadline, out of order with the fast path's
   * {@link DeadlineQueue}).
   */
  private send(
    channel: ConfirmChannel,
    target: PublishTarget,
    content: Buffer,
    options: Options.Publish,
    deadline: number,
  ): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      // A blocked broker (memory/disk alarm) neither confirms nor closes: bound the wait.
      const expire = () =>
        reject(
          new ClusterError(ErrorCodes.BACKEND_UNAVAILABLE, unconfirmed(target, this.connection.unavailableTimeoutMs)),
        );
      const timer = setTimeout(expire, Math.max(1, deadline - Date.now()));
      // mandatory (publishOptions sets it already): a queue deleted since we declared it makes the
      // broker return the message (before its confirm) instead of confirming and dropping it.
      const sent = options.mandatory ? options : { ...options, mandatory: true };
      try {
        const written = channel.publish(target.exchange, target.routingKey, content, sent, (error) => {
          clearTimeout(timer);
          if (error) return reject(error instanceof Error ? error : new Error(String(error)));
          if (this.returned.size > 0 && this.returned.delete(returnKey(target.routingKey, options.messageId))) {
            return reject(new Error(UNROUTABLE));
          }
          resolve();
        });
        if (!written) this.waitForDrain(channel);
      } catch (error) {
        // The channel closed under us (amqplib throws synchronously): the caller tries again.
        clearTimeout(timer);
        reject(error instanceof Error ? error : new Error(String(error)));
      }
    });
  }

  /** Closes the channels (the connection stays); bounded, never rejects (see link-guard.ts). */
  async close(): Promise<void> {
    const channels = [this.confirm, this.topology];
    this.confirm = undefined;
    this.live = undefined;
    this.topology = undefined;
    this.declared.clear();
    this.done.clear();
    const guard = this.connection.guard;
    await Promise.all(
      channels.map(async (opening) => {
        if (!opening) return;
        // Still opening (waiting for a reconnect, or on a frozen link): waited for, bounded.
        const opened = await guard.step(opening);
        if (opened.done) await guard.closeChannel(opened.value);
      }),
    );
  }

  private confirmChannel(): Promise<ConfirmChannel> {
    if (!this.confirm) {
      const opening = this.connection.confirmChannel(() => {
        if (this.confirm === opening) {
          this.confirm = undefined;
          this.live = undefined;
        }
        this.drained = undefined;
      });
      void opening.then(
        (channel) => {
          channel.on('return', (message: Message) =>
            this.returned.add(returnKey(message.fields.routingKey, message.properties.messageId as unknown)),
          );
          if (this.confirm === opening) this.live = channel;
        },
        () => {},
      );
      this.confirm = opening;
      opening.catch(() => {
        if (this.confirm === opening) this.confirm = undefined;
      });
    }
    return this.confirm;
  }

  private topologyChannel(): Promise<Channel> {
    if (!this.topology) {
      const opening = this.connection.channel(() => {
        if (this.topology === opening) this.topology = undefined;
      });
      this.topology = opening;
      opening.catch(() => {
        if (this.topology === opening) this.topology = undefined;
      });
    }
    return this.topology;
  }

  private waitForDrain(channel: ConfirmChannel): void {
    if (this.drained) return;
    const drained = whenDrained(channel).then(() => {
      if (this.drained === drained) this.drained = undefined;
    });
    this.drained = drained;
  }
}

const UNROUTABLE = 'message returned unroutable';

function returnKey(routingKey: string, messageId: unknown): string {
  return `${routingKey}\u0000${String(messageId)}`;
}

function unconfirmed(target: PublishTarget, ms: number): string {
  return `RabbitMQ did not confirm a publish to ${describe(target)} within ${ms} ms (broker blocked or unreachable); it may or may not have been stored`;
}

function describe(target: PublishTarget): string {
  return target.exchange === '' ? `queue "${target.routingKey}"` : `exchange "${target.exchange}"`;
}

function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
