/**
 * One publish waiting for its confirm on the fast path of {@link ConfirmPublisher.publish}: the
 * promise's settle functions, the deadline entry and the confirm callback in one object, so a
 * publish in flight holds one object and one closure (amqplib needs a function) instead of a
 * closure per role (expire, settle, confirm, the retry hand-off) and a second promise for the
 * retry. At thousands of publishes a second each of those lived until its confirm and was a
 * measurable share of the client's CPU (docs/performance.md).
 */
import type { Options } from 'amqplib';
import type { Deadline } from './deadline-queue.js';

/** What {@link PendingConfirm} reports to (the publisher that sent it). */
export interface ConfirmOwner {
  /** The broker confirmed, nacked, or the channel went away: `error` undefined means confirmed. */
  confirmed(pending: PendingConfirm, error: unknown): void;
  /** The deadline passed before the confirm. */
  expired(pending: PendingConfirm): void;
}

/** A publish target (exchange + routing key). */
export interface ConfirmTarget {
  readonly exchange: string;
  readonly routingKey: string;
}

/** See the module comment. */
export class PendingConfirm implements Deadline {
  done = false;
  resolve!: (value: void | PromiseLike<void>) => void;
  reject!: (error: unknown) => void;
  readonly promise: Promise<void>;
  /** The confirm callback handed to amqplib. */
  readonly onConfirm = (error: unknown): void => this.owner.confirmed(this, error);

  constructor(
    private readonly owner: ConfirmOwner,
    readonly target: ConfirmTarget,
    readonly content: Buffer,
    readonly options: Options.Publish,
    readonly prepare: (() => Promise<void> | undefined) | undefined,
    readonly at: number,
  ) {
    this.promise = new Promise<void>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
  }

  /** Deadline passed (called by the DeadlineQueue). */
  expire(): void {
    this.owner.expired(this);
  }
}
