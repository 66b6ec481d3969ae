/**
 * `app.eventQueue`: at-least-once work queues with competing consumers, retries with backoff, dead
 * letters, delay, priority, per-attempt timeouts and graceful stop. The manager owns the protocol
 * (names, envelope, validation, retry counting); its adapter only stores and moves records.
 * NocoBase-compatible: `connect`, `close`, `isConnected`, `setAdapter`, `subscribe`, `unsubscribe`,
 * `publish`. See docs/event-queue.md.
 */
import { randomUUID } from 'node:crypto';
import { standaloneContext, type ManagerContext } from '../context.js';
import { ClusterError, ErrorCodes } from '../errors.js';
import { appScopedName, unescapeKeyPart } from '../names.js';
import { captureTraceContext, loadOpenTelemetry } from '../tracing.js';
import { assertDuration, assertInteger, assertName, assertOptions, serializePayload } from '../validation.js';
import { decodeEnvelope, encodeEnvelope } from './envelope.js';
import {
  DEFAULT_PRIORITY,
  resolveDefaults,
  resolvePublish,
  resolveSubscribe,
  type EventQueueDeadLetter,
  type EventQueueManagerOptions,
  type EventQueuePublishOptions,
  type EventQueueSubscribeOptions,
  type ResolvedDefaults,
} from './event-queue-options.js';
import { MemoryEventQueueAdapter } from './memory-adapter.js';
import { QueueSubscription, shutdownError } from './queue-subscription.js';
import type { EventQueueAdapter, EventQueueCapabilities, QueueCounts, QueueRecord } from './types.js';

/** What a publish hands its adapter (see `EventQueueManager.prepareRecord`). */
export interface PreparedRecord {
  readonly adapter: EventQueueAdapter;
  readonly queue: string;
  readonly record: QueueRecord;
  readonly transaction?: unknown;
}

export { DEFAULT_PRIORITY, EVENT_QUEUE_DEFAULTS, MAX_PRIORITY, MAX_RETRIES_LIMIT } from './event-queue-options.js';
export type {
  EventQueueDeadLetter,
  EventQueueDefaults,
  EventQueueManagerOptions,
  EventQueueProcessContext,
  EventQueuePublishOptions,
  EventQueueSubscribeOptions,
  ResolvedDefaults,
} from './event-queue-options.js';
export { backoffDelay, normalizeBackoff, DEFAULT_BACKOFF } from './backoff.js';
export type { BackoffInput, BackoffOptions, BackoffPolicy } from './backoff.js';
export { ENVELOPE_VERSION, encodeEnvelope, decodeEnvelope, envelopeId } from './envelope.js';
export type { Envelope, EnvelopePolicy } from './envelope.js';

/**
 * A handler that ignores the shutdown abort is abandoned (its message released) this long after
 * the abort, at least: `max(gracePeriodMs, MIN_ABANDON_AFTER_MS)`.
 */
const MIN_ABANDON_AFTER_MS = 1_000;
const MAX_LIST_LIMIT = 10_000;
/** Channels whose queue name publish remembers (see `EventQueueManager.publishQueue`). */
const MAX_CACHED_QUEUES = 1_024;

type State = 'idle' | 'connecting' | 'connected' | 'closing';

/** The event-queue facade of one node. */
export class EventQueueManager {
  private currentAdapter: EventQueueAdapter;
  private readonly context: ManagerContext;
  private readonly defaults: ResolvedDefaults;
  private readonly subscriptions = new Map<string, QueueSubscription>();
  /** Channel → queue name of channels published to (see `publishQueue`). */
  private readonly publishQueues = new Map<string, string>();
  private state: State = 'idle';
  private transition: Promise<void> = Promise.resolve();
  /** Generated ids are `<random per manager>-<counter>`: unique, and far cheaper than a UUID each. */
  private readonly idPrefix = randomUUID();
  private idCounter = 0;
  /** `@opentelemetry/api` is installed: handlers run in spans (decided at `connect()`). */
  private tracing = false;

  constructor(options: EventQueueManagerOptions = {}) {
    const o = assertOptions('EventQueueManager', options, ['adapter', 'context', 'defaults']);
    this.currentAdapter = o.adapter ?? new MemoryEventQueueAdapter();
    this.context = o.context ?? standaloneContext();
    this.defaults = resolveDefaults(o.defaults);
  }

  /** What the adapter can do (priority, delay, durability, distribution). */
  get capabilities(): EventQueueCapabilities {
    return this.adapter.capabilities;
  }

  /**
   * The adapter underneath. An escape hatch for tools and tests (the CLI, the conformance suite's
   * malformed-message case): queue names are `appScopedName(appName, channel)`, bodies are envelopes.
   */
  get adapter(): EventQueueAdapter {
    return this.currentAdapter;
  }

  /** True between a finished `connect()` and the start of `close()`. */
  isConnected(): boolean {
    return this.state === 'connected';
  }

  /** Replaces the adapter; refused with `INVALID_STATE` while connected. */
  setAdapter(adapter: EventQueueAdapter): void {
    if (this.state !== 'idle') {
      throw new ClusterError(ErrorCodes.INVALID_STATE, 'eventQueue.setAdapter() is not allowed after connect()');
    }
    if (typeof adapter !== 'object' || adapter === null || typeof adapter.consume !== 'function') {
      throw new ClusterError(ErrorCodes.INVALID_ARGUMENT, 'eventQueue.setAdapter() needs an EventQueueAdapter');
    }
    this.currentAdapter = adapter;
  }

  /** Connects the adapter and starts every subscription made so far. */
  connect(): Promise<void> {
    if (this.state === 'connected') return Promise.resolve();
    if (this.state === 'connecting') return this.transition;
    this.transition = this.transition.catch(() => {}).then(() => this.doConnect());
    return this.transition;
  }

  /**
   * Graceful stop: stop taking messages, wait for in-flight handlers, abort their signals (reason
   * `SHUTDOWN`) after `gracePeriodMs`; a handler that then fails hands its message back unspent.
   * Subscriptions are kept and restart on the next `connect()`.
   */
  async close(options: { gracePeriodMs?: number } = {}): Promise<void> {
    const o = assertOptions('eventQueue.close', options, ['gracePeriodMs']);
    const grace =
      o.gracePeriodMs === undefined
        ? this.defaults.gracePeriodMs
        : assertDuration('gracePeriodMs', o.gracePeriodMs, { allowZero: true });
    if (this.state === 'idle' || this.state === 'closing') return this.transition;
    if (this.state === 'connected') this.state = 'closing';
    this.transition = this.transition.catch(() => {}).then(() => this.doClose(grace));
    return this.transition;
  }

  /**
   * Handles messages of `channel` on this node. Before `connect()` it takes effect on connect.
   * One subscription per channel per node (`ALREADY_SUBSCRIBED`).
   */
  async subscribe<T = any>(channel: string, options: EventQueueSubscribeOptions<T>): Promise<void> {
    assertName('channel', channel);
    const settings = resolveSubscribe(options, this.defaults);
    if (this.subscriptions.has(channel)) {
      throw new ClusterError(ErrorCodes.ALREADY_SUBSCRIBED, `channel "${channel}" already has a subscription here`, {
        details: { channel },
      });
    }
    const sub = new QueueSubscription(channel, this.queueName(channel), settings, this.context);
    this.subscriptions.set(channel, sub);
    if (this.state !== 'connected') return;
    try {
      await this.startConsumer(sub);
    } catch (error) {
      this.subscriptions.delete(channel);
      throw error;
    }
  }

  /** Stops taking messages of `channel` and resolves once its in-flight handlers have finished. */
  async unsubscribe(channel: string): Promise<void> {
    assertName('channel', channel);
    const sub = this.subscriptions.get(channel);
    if (sub === undefined) return;
    this.subscriptions.delete(channel);
    await this.stopConsumer(sub);
  }

  /**
   * Queues `message` for one subscriber of `channel` on any node (none needs to exist yet).
   * Resolves with the message id once the adapter has stored it. Inside an OpenTelemetry span, the
   * envelope carries its W3C trace context, and the handler's span becomes its child.
   */
  async publish<T = unknown>(channel: string, message: T, options?: EventQueuePublishOptions): Promise<{ id: string }> {
    const { adapter, queue, record, transaction } = this.prepare(channel, message, options);
    if (transaction === undefined) await adapter.publish(queue, record);
    else await adapter.publish(queue, record, { transaction });
    return { id: record.id };
  }

  /**
   * @internal What {@link publish} hands its adapter — the adapter, queue name and record, checked
   * and encoded the same way — without publishing. The managed-job layer gives it to a job store
   * that writes a job record and this record in one atomic step (`JobStore.createWithTicket`).
   */
  prepareRecord<T = unknown>(channel: string, message: T, options?: EventQueuePublishOptions): PreparedRecord {
    return this.prepare(channel, message, options);
  }

  private prepare<T = unknown>(channel: string, message: T, options?: EventQueuePublishOptions): PreparedRecord {
    const queue = this.publishQueue(channel);
    const o = resolvePublish(options);
    const payload = serializePayload('message', message, this.context.maxPayloadBytes);
    const caps = this.currentAdapter.capabilities;
    if (o.delayMs > 0 && !caps.delay) throw notSupported('delay', caps.hints?.delay);
    if (o.priority !== DEFAULT_PRIORITY && !caps.priority) throw notSupported('priority', caps.hints?.priority);
    if (o.transaction !== undefined && caps.transactional !== true) {
      throw new ClusterError(
        ErrorCodes.NOT_SUPPORTED,
        'this event-queue adapter cannot publish inside a database transaction (capability "transactional"; use the PostgreSQL adapter, or publish after commit)',
        { details: { feature: 'transaction' } },
      );
    }
    // Publishing stays open while closing, so handlers finishing in the grace period can chain work.
    if (this.state !== 'connected' && this.state !== 'closing') throw notConnected('publish');
    const id = o.jobId ?? `${this.idPrefix}-${(++this.idCounter).toString(36)}`;
    // Without OpenTelemetry this is a flag check; with it but no active span, nothing is written.
    const body = encodeEnvelope(id, payload, Date.now(), o.policy, captureTraceContext());
    const record = { id, body, priority: o.priority, delayMs: o.delayMs, callerId: o.jobId !== undefined };
    if (o.transaction === undefined) return { adapter: this.currentAdapter, queue, record };
    return { adapter: this.currentAdapter, queue, record, transaction: o.transaction };
  }

  /**
   * The checked channel's queue name. Publish is the hot path and most apps publish to a handful of
   * channels, so names that passed the check are remembered (a bounded map: cleared when full).
   */
  private publishQueue(channel: string): string {
    const known = this.publishQueues.get(channel);
    if (known !== undefined) return known;
    const queue = this.queueName(assertName('channel', channel));
    if (this.publishQueues.size >= MAX_CACHED_QUEUES) this.publishQueues.clear();
    this.publishQueues.set(channel, queue);
    return queue;
  }

  /** Dead letters of `channel`, oldest first, payloads parsed. @param range `offset` default 0, `limit` default 100 */
  async listDeadLetters<T = unknown>(
    channel: string,
    range: { offset?: number; limit?: number } = {},
  ): Promise<EventQueueDeadLetter<T>[]> {
    assertName('channel', channel);
    const r = assertOptions('eventQueue.listDeadLetters', range, ['offset', 'limit']);
    const offset = r.offset === undefined ? 0 : assertInteger('offset', r.offset, 0);
    const limit = r.limit === undefined ? 100 : assertInteger('limit', r.limit, 1, MAX_LIST_LIMIT);
    this.assertOpen('listDeadLetters');
    const letters = await this.adapter.listDeadLetters(this.queueName(channel), { offset, limit });
    return letters.map((letter) => {
      let message: T | string;
      try {
        message = decodeEnvelope(letter.body).message as T;
      } catch {
        message = letter.body;
      }
      return { id: letter.id, message, attempt: letter.attempt, error: letter.error, failedAt: letter.failedAt };
    });
  }

  /** Moves dead letters (all when `ids` is omitted) back to the queue with a fresh retry budget; returns how many. */
  async redrive(channel: string, ids?: readonly string[]): Promise<number> {
    assertName('channel', channel);
    const list = checkIds(ids);
    this.assertOpen('redrive');
    return this.adapter.redrive(this.queueName(channel), list);
  }

  /** Deletes dead letters (all when `ids` is omitted); returns how many. */
  async deleteDeadLetters(channel: string, ids?: readonly string[]): Promise<number> {
    assertName('channel', channel);
    const list = checkIds(ids);
    this.assertOpen('deleteDeadLetters');
    return this.adapter.deleteDeadLetters(this.queueName(channel), list);
  }

  /** Waiting, delayed, active and dead record counts of `channel`. */
  async counts(channel: string): Promise<QueueCounts> {
    assertName('channel', channel);
    this.assertOpen('counts');
    return this.adapter.counts(this.queueName(channel));
  }

  /**
   * This app's channels that hold dead letters, with their counts (`clusterkit dlq channels`).
   * Rejects with `NOT_SUPPORTED` on an adapter that cannot list its queues (RabbitMQ).
   */
  async deadLetterChannels(): Promise<Array<{ channel: string; dead: number }>> {
    this.assertOpen('deadLetterChannels');
    const adapter = this.adapter;
    if (!adapter.deadLetterQueues) {
      throw notSupported(
        'listing channels',
        'RabbitMQ cannot list its queues over AMQP; give the channel (clusterkit dlq list <channel>) or use the management UI',
      );
    }
    const head = appScopedName(this.context.appName, '');
    const out: Array<{ channel: string; dead: number }> = [];
    for (const queue of await adapter.deadLetterQueues()) {
      if (!queue.startsWith(head) || queue.slice(head.length).includes(':')) continue;
      const channel = unescapeKeyPart(queue.slice(head.length));
      out.push({ channel, dead: (await adapter.counts(queue)).dead });
    }
    return out.filter((c) => c.dead > 0).sort((a, b) => a.channel.localeCompare(b.channel));
  }

  /** Removes every message of `channel`, dead letters included (tests, operators). */
  async obliterate(channel: string): Promise<void> {
    assertName('channel', channel);
    this.assertOpen('obliterate');
    await this.adapter.obliterate(this.queueName(channel));
  }

  private queueName(channel: string): string {
    return appScopedName(this.context.appName, channel);
  }

  private assertOpen(call: string): void {
    if (this.state !== 'connected' && this.state !== 'closing') throw notConnected(call);
  }

  private async doConnect(): Promise<void> {
    if (this.state === 'connected') return;
    this.state = 'connecting';
    try {
      // Once per process (a cached import): afterwards publish can capture the trace synchronously.
      this.tracing = await loadOpenTelemetry();
      await this.adapter.connect();
      // A live iteration: subscriptions added while this runs are started too.
      for (const sub of this.subscriptions.values()) await this.startConsumer(sub);
      this.state = 'connected';
    } catch (error) {
      await Promise.allSettled([...this.subscriptions.values()].map((sub) => this.stopConsumer(sub)));
      await this.adapter.close().catch(() => {});
      this.state = 'idle';
      throw error;
    }
  }

  private async doClose(gracePeriodMs: number): Promise<void> {
    if (this.state === 'idle') return;
    this.state = 'closing';
    const subs = [...this.subscriptions.values()];
    const stopped = Promise.all(subs.map((sub) => this.stopConsumer(sub)));
    const abortTimer = setTimeout(() => {
      const reason = shutdownError();
      for (const sub of subs) sub.abortAll(reason);
    }, gracePeriodMs);
    const abandonTimer = setTimeout(
      () => {
        for (const sub of subs) sub.abandonAll();
      },
      gracePeriodMs + Math.max(gracePeriodMs, MIN_ABANDON_AFTER_MS),
    );
    try {
      await stopped;
    } finally {
      clearTimeout(abortTimer);
      clearTimeout(abandonTimer);
    }
    try {
      await this.adapter.close();
    } finally {
      this.state = 'idle';
    }
  }

  private async startConsumer(sub: QueueSubscription): Promise<void> {
    const { concurrency, idleRecheckMs } = sub.settings;
    sub.tracing = this.tracing;
    sub.consumer = this.adapter.consume(sub.queue, { concurrency, isIdle: sub.isIdle, idleRecheckMs }, sub.deliver);
    try {
      await sub.consumer;
    } catch (error) {
      sub.consumer = undefined;
      throw error;
    }
  }

  private async stopConsumer(sub: QueueSubscription): Promise<void> {
    const pending = sub.consumer;
    sub.consumer = undefined;
    if (pending === undefined) return;
    try {
      const consumer = await pending.catch(() => undefined);
      await consumer?.close();
    } catch (error) {
      this.context.reportError(error, { channel: sub.channel, source: 'eventQueue.unsubscribe' });
    }
  }
}

function checkIds(ids: readonly string[] | undefined): readonly string[] | undefined {
  if (ids === undefined) return undefined;
  if (!Array.isArray(ids)) {
    throw new ClusterError(ErrorCodes.INVALID_ARGUMENT, 'ids must be an array of message ids');
  }
  for (const id of ids) assertName('id', id);
  return ids;
}

function notConnected(call: string): ClusterError {
  return new ClusterError(ErrorCodes.NOT_CONNECTED, `eventQueue.${call}() needs a connected manager (app.start())`);
}

function notSupported(feature: string, hint?: string): ClusterError {
  const message = `this event-queue adapter does not support ${feature}${hint ? `: ${hint}` : ''}`;
  return new ClusterError(ErrorCodes.NOT_SUPPORTED, message, { details: { feature } });
}
