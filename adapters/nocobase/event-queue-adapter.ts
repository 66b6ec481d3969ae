/**
 * NocoBase's `IEventQueueAdapter` over clusterkit's event queue. NocoBase's own `EventQueue` stays
 * in front (it names channels `<app>.<channel>`, refuses a publish without a local subscription,
 * warns on a second subscription); this adapter turns its calls into clusterkit subscriptions and
 * messages, so a message published on any node runs once, on one node, with at-least-once delivery,
 * retries and dead letters — and hands the handler exactly what NocoBase's memory adapter would:
 * `{ id, retried, signal, queueOptions }`.
 */
import {
  ClusterError,
  ErrorCodes,
  type EventQueuePublishOptions,
  type EventQueueProcessContext,
} from 'clusterkit/adapter-kit';
import { IdleGate } from './idle-gate.js';
import type { IEventQueueAdapter, QueueEventOptions, QueueMessageOptions } from './nocobase-types.js';
import type { BridgeRuntime } from './runtime.js';

/** NocoBase's defaults and clusterkit's extras for the queue; every duration in ms. */
export interface NocoBaseQueueOptions {
  /** Retries after a failed attempt, for messages published without `maxRetries`. @default 0 (NocoBase: no retry unless asked) */
  maxRetries?: number;
  /** Wait between attempts, in ms, for messages published without `backoff`. @default 500 (NocoBase's) */
  retryDelay?: number;
  /**
   * `false` (NocoBase): `timeout` only aborts the handler's signal and the handler's result decides.
   * `true` (clusterkit): an attempt that runs past `timeout` fails (`QUEUE_TIMEOUT`) whatever it returns.
   * @default false
   */
  timeoutFailsAttempt?: boolean;
  /** What "unlimited" (`concurrency <= 0`) means on a clusterkit consumer: most messages at once. @default 1000 */
  unlimitedConcurrency?: number;
  /** How often a closed `idle()` gate is asked again, for subscriptions without `interval`. @default 250 (NocoBase's) */
  interval?: number;
  /** How long `close()` waits for running handlers before aborting their signals, in ms. @default 10000 */
  closeGracePeriodMs?: number;
}

/** What the bridge stores as the clusterkit message: the NocoBase content and its options. */
interface WireMessage {
  readonly c: unknown;
  readonly o: QueueMessageOptions;
}

/** NocoBase's event-queue adapter on a clusterkit node. */
export class ClusterkitEventQueueAdapter implements IEventQueueAdapter {
  private connected = false;
  private readonly channels = new Map<string, QueueEventOptions>();
  private readonly settings: Required<NocoBaseQueueOptions>;

  constructor(
    private readonly runtime: BridgeRuntime,
    options: NocoBaseQueueOptions = {},
  ) {
    this.settings = {
      maxRetries: options.maxRetries ?? 0,
      retryDelay: options.retryDelay ?? 500,
      timeoutFailsAttempt: options.timeoutFailsAttempt ?? false,
      unlimitedConcurrency: options.unlimitedConcurrency ?? 1_000,
      interval: options.interval ?? 250,
      closeGracePeriodMs: options.closeGracePeriodMs ?? 10_000,
    };
  }

  isConnected(): boolean {
    return this.connected;
  }

  /** Starts the clusterkit node (if need be) and its event queue. */
  async connect(): Promise<void> {
    await this.runtime.ensureStarted();
    await this.runtime.app.eventQueue.connect();
    this.connected = true;
  }

  /**
   * Stops taking messages: running handlers finish (their signals abort after `closeGracePeriodMs`;
   * a handler that then fails hands its message back unspent). Subscriptions are forgotten, since
   * NocoBase subscribes again on its next `connect()`.
   */
  async close(): Promise<void> {
    if (!this.connected) return;
    this.connected = false;
    const queue = this.runtime.app.eventQueue;
    await queue.close({ gracePeriodMs: this.settings.closeGracePeriodMs });
    const channels = [...this.channels.keys()];
    this.channels.clear();
    await Promise.all(channels.map((channel) => queue.unsubscribe(channel)));
  }

  /** Handles `channel` on this node. A second subscription of a channel is ignored with a warning, as NocoBase does. */
  subscribe(channel: string, event: QueueEventOptions): void {
    if (this.channels.has(channel)) {
      this.runtime.logger.warn(
        `event queue already subscribed on channel "${channel}", new subscription will be ignored`,
      );
      return;
    }
    const given = event.concurrency ?? 1;
    const concurrency = given <= 0 ? this.settings.unlimitedConcurrency : given;
    const interval = event.interval ?? this.settings.interval;
    const gate = new IdleGate(typeof event.idle === 'function' ? () => event.idle() : undefined, concurrency, interval);
    this.channels.set(channel, event);
    const subscribed = this.runtime.app.eventQueue.subscribe<WireMessage>(channel, {
      concurrency,
      idle: gate.isIdle,
      interval,
      maxRetries: this.settings.maxRetries,
      backoff: this.settings.retryDelay,
      process: async (wire, context) => {
        gate.took();
        try {
          await event.process(wire.c, this.callbackOptions(wire.o ?? {}, context));
        } finally {
          gate.finished();
        }
      },
    });
    subscribed.catch((error: unknown) => {
      if (this.channels.get(channel) === event) this.channels.delete(channel);
      this.runtime.app.reportError(error, { channel, source: 'nocobase eventQueue.subscribe' });
    });
  }

  /** Stops handling `channel` here; running handlers finish in the background. */
  unsubscribe(channel: string): void {
    if (!this.channels.delete(channel)) return;
    this.runtime.app.eventQueue.unsubscribe(channel).catch((error: unknown) => {
      this.runtime.app.reportError(error, { channel, source: 'nocobase eventQueue.unsubscribe' });
    });
  }

  /**
   * Queues `message` for one subscriber of `channel` on any node. Refuses, before anything reaches
   * the broker, a message that is not JSON (function, BigInt, cycle) and bad options.
   */
  async publish(channel: string, message: unknown, options: QueueMessageOptions = {}): Promise<void> {
    if (!this.connected) {
      throw new ClusterError(ErrorCodes.NOT_CONNECTED, 'event queue adapter is not connected (app.start() first)');
    }
    const publish: EventQueuePublishOptions = {
      maxRetries: options.maxRetries ?? this.settings.maxRetries,
      backoff: options.backoff ?? this.settings.retryDelay,
    };
    if (this.settings.timeoutFailsAttempt && options.timeout !== undefined) publish.timeout = options.timeout;
    if (options.delay !== undefined) publish.delay = options.delay;
    if (options.priority !== undefined) publish.priority = options.priority;
    if (options.jobId !== undefined) publish.jobId = options.jobId;
    // Every option travels with the message and reaches the handler as `queueOptions`, as in
    // NocoBase (plugins may pass their own keys); clusterkit validates the ones it acts on.
    await this.runtime.app.eventQueue.publish<WireMessage>(channel, { c: message, o: options }, publish);
  }

  private callbackOptions(stored: QueueMessageOptions, context: EventQueueProcessContext) {
    const timeout = stored.timeout;
    const signal =
      timeout !== undefined && !this.settings.timeoutFailsAttempt
        ? AbortSignal.any([context.signal, AbortSignal.timeout(timeout)])
        : context.signal;
    return { id: context.id, retried: context.retried, signal, queueOptions: { ...stored, retried: context.retried } };
  }
}
