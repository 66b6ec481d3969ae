/**
 * One channel's subscription on one node: turns each delivery into a handler call and the
 * handler's result into a {@link DeliveryOutcome} (ack, retry with backoff, dead letter, release).
 * `deliver` never rejects and never throws, whatever arrives from the wire.
 */
import type { ManagerContext } from '../context.js';
import { ClusterError, ErrorCodes, isUnrecoverable, QueueTimeoutError, serializeError } from '../errors.js';
import { LazyAbort } from '../lazy-abort.js';
import { runInSpan, tracingEnabled } from '../tracing.js';
import { backoffDelay } from './backoff.js';
import { decodeEnvelope, type Envelope } from './envelope.js';
import type { EventQueueProcessContext, ResolvedSubscribe } from './event-queue-options.js';
import type { Delivery, DeliveryOutcome, QueueConsumer } from './types.js';

const ACK: DeliveryOutcome = Object.freeze({ type: 'ack' });
const RELEASE_NOW: DeliveryOutcome = Object.freeze({ type: 'release', delayMs: 0 });

/**
 * One handler attempt; it is also the context handed to the handler. Its abort state is a
 * {@link LazyAbort}: the AbortController is created only if the handler reads `signal` (most never
 * do, and it is not free); the managed-job dispatcher follows it with `onAbort` instead.
 */
class HandlerAttempt extends LazyAbort implements EventQueueProcessContext {
  finish!: (outcome: DeliveryOutcome) => void;
  timer: NodeJS.Timeout | undefined;
  timedOut = false;
  /** Aborted because the node is stopping: a failure then hands the message back unspent. */
  shutdown = false;

  constructor(
    readonly id: string,
    readonly retried: number,
    readonly channel: string,
  ) {
    super();
  }
}

function expire(attempt: HandlerAttempt, timeoutMs: number): void {
  attempt.timer = undefined;
  attempt.timedOut = true;
  attempt.abort(new QueueTimeoutError(timeoutMs));
}

/** A subscription: its settings, its adapter consumer, and its in-flight attempts. */
export class QueueSubscription {
  /** The adapter consumer, while one is starting or running. */
  consumer: Promise<QueueConsumer> | undefined;
  private readonly inFlight = new Set<HandlerAttempt>();
  /** The gate as handed to the adapter: never throws, always a boolean. */
  readonly isIdle: (() => boolean) | undefined;
  /**
   * Run handlers in OpenTelemetry consumer spans (set by the manager when `@opentelemetry/api` is
   * installed). Off, the handler is called directly: no span, no extra promise per message.
   */
  tracing = false;

  constructor(
    readonly channel: string,
    readonly queue: string,
    readonly settings: ResolvedSubscribe,
    private readonly context: ManagerContext,
  ) {
    const idle = settings.idle;
    this.isIdle =
      idle === undefined
        ? undefined
        : () => {
            try {
              return idle.call(settings.options) !== false;
            } catch (error) {
              this.context.reportError(error, { channel, source: 'eventQueue.idle' });
              return false;
            }
          };
  }

  /** Number of handlers running now. */
  get running(): number {
    return this.inFlight.size;
  }

  /** Handles one delivery; resolves once the handler has settled (or was abandoned at shutdown). */
  readonly deliver = (delivery: Delivery): Promise<DeliveryOutcome> => {
    let envelope: Envelope;
    try {
      envelope = decodeEnvelope(delivery.body);
    } catch (error) {
      this.context.reportError(error, { channel: this.channel, id: delivery.id, attempt: delivery.attempt });
      return Promise.resolve({ type: 'dead', error: serializeError(error) });
    }
    const attempt = new HandlerAttempt(delivery.id, delivery.attempt, this.channel);
    return new Promise<DeliveryOutcome>((resolve) => {
      attempt.finish = resolve;
      void this.run(attempt, envelope);
    });
  };

  /** Aborts every running handler's signal (graceful stop, after the grace period). */
  abortAll(reason: unknown): void {
    for (const attempt of this.inFlight) {
      attempt.shutdown = true;
      attempt.abort(reason);
    }
  }

  /**
   * Gives up on handlers that ignored the abort: their messages are released to the queue now (they
   * may run again elsewhere while the abandoned handler still runs — at-least-once, nothing lost).
   */
  abandonAll(): void {
    for (const attempt of this.inFlight) {
      this.context.logger.warn('event queue: abandoning a handler that ignored the shutdown abort', {
        channel: this.channel,
        id: attempt.id,
      });
      attempt.finish(RELEASE_NOW);
    }
    this.inFlight.clear();
  }

  private async run(attempt: HandlerAttempt, envelope: Envelope): Promise<void> {
    const settings = this.settings;
    this.inFlight.add(attempt);
    const timeout = envelope.timeout ?? settings.timeout;
    if (timeout !== undefined) attempt.timer = setTimeout(expire, timeout, attempt, timeout);
    let failed = false;
    let failure: unknown;
    try {
      if (this.tracing && tracingEnabled()) await this.traced(attempt, envelope, timeout);
      else await settings.options.process(envelope.message, attempt);
    } catch (error) {
      failed = true;
      failure = error;
    }
    if (attempt.timer !== undefined) clearTimeout(attempt.timer);
    this.inFlight.delete(attempt);
    if (attempt.timedOut) {
      // The limit passed: the attempt failed, whatever the handler did afterwards.
      failed = true;
      failure = new QueueTimeoutError(timeout as number);
    }
    if (!failed) {
      attempt.finish(ACK);
      return;
    }
    try {
      attempt.finish(this.failureOutcome(attempt, envelope, failure));
    } catch (error) {
      // Only a pathological thrown value (a throwing getter) gets here; keep the message.
      this.context.reportError(error, { channel: this.channel, id: attempt.id });
      attempt.finish({ type: 'release', delayMs: 1_000 });
    }
  }

  /**
   * The handler inside a consumer span, child of the publisher's trace context. An attempt that
   * ran past its timeout is a failure even if the handler then resolved, so the span says so too;
   * the caller reaches the same verdict from `timedOut`, so the outcome is unchanged.
   */
  private traced(attempt: HandlerAttempt, envelope: Envelope, timeout: number | undefined): Promise<void> {
    const options = {
      carrier: envelope.trace,
      attributes: {
        'messaging.system': 'clusterkit',
        'messaging.operation.type': 'process',
        'messaging.destination.name': this.channel,
        'messaging.message.id': envelope.id,
        'clusterkit.attempt': attempt.retried,
      },
    };
    return runInSpan(this.channel, options, async () => {
      await this.settings.options.process(envelope.message, attempt);
      if (attempt.timedOut) throw new QueueTimeoutError(timeout as number);
    });
  }

  private failureOutcome(attempt: HandlerAttempt, envelope: Envelope, failure: unknown): DeliveryOutcome {
    if (attempt.shutdown && !attempt.timedOut) {
      this.context.logger.debug('event queue: handler stopped by shutdown; message released', {
        channel: this.channel,
        id: attempt.id,
      });
      return RELEASE_NOW;
    }
    const maxRetries = envelope.maxRetries ?? this.settings.maxRetries;
    const giveUp = isUnrecoverable(failure) || attempt.retried >= maxRetries;
    this.context.reportError(failure, {
      channel: this.channel,
      id: attempt.id,
      attempt: attempt.retried,
      outcome: giveUp ? 'dead' : 'retry',
    });
    const error = serializeError(failure);
    if (giveUp) return { type: 'dead', error };
    const delayMs = backoffDelay(envelope.backoff ?? this.settings.backoff, attempt.retried + 1);
    return { type: 'retry', delayMs, error };
  }
}

/** The abort reason handed to handlers when a node stops. */
export function shutdownError(): ClusterError {
  return new ClusterError(ErrorCodes.SHUTDOWN, 'the node is shutting down; the message will be handed back');
}
