/**
 * The pub/sub manager (`app.pubSubManager`): NocoBase's API over any {@link PubSubAdapter}. It owns
 * the protocol — app-name namespacing, the envelope, skipSelf/onlySelf, debounce, the handler list
 * and re-subscribing on connect — so an adapter only moves one string per message.
 */
import { booleanOption } from '../boolean-option.js';
import { standaloneContext, type ManagerContext } from '../context.js';
import { ClusterError, ErrorCodes } from '../errors.js';
import { appScopedName } from '../names.js';
import {
  assertDuration,
  assertFunction,
  assertName,
  assertOptions,
  describe,
  serializePayload,
} from '../validation.js';
import { KeyedDebouncer } from './debouncer.js';
import { diagnostics } from '../diagnostics.js';
import { decodeEnvelope, encodeEnvelope, NodeIds, type PubSubEnvelope } from './envelope.js';
import { MemoryPubSubAdapter } from './memory-adapter.js';
import type {
  PubSubHandler,
  PubSubMessageMeta,
  PubSubPublishOptions,
  PubSubSubscribeOptions,
} from './pub-sub-options.js';
import type { PubSubAdapter } from './types.js';

export type * from './pub-sub-options.js';

/** Options of the {@link PubSubManager} constructor. */
export interface PubSubManagerOptions {
  /** @default a {@link MemoryPubSubAdapter} on a backend of its own */
  adapter?: PubSubAdapter;
  /** @default {@link standaloneContext}() */
  context?: ManagerContext;
}

const SUBSCRIBE_OPTIONS = ['debounce'] as const;
/** Wire channel names remembered before the memo starts over. */
const MEMO_LIMIT = 1_024;
const PUBLISH_OPTIONS = ['skipSelf', 'onlySelf'] as const;

interface Subscription {
  readonly handler: PubSubHandler;
  debouncer?: KeyedDebouncer;
}

interface ChannelState {
  readonly handlers: Map<PubSubHandler, Subscription>;
  /** Whether the adapter currently holds a subscription for this channel. */
  adapterSubscribed: boolean;
  /** Adapter (un)subscribe calls for this channel run one after another, in call order. */
  queue: Promise<void>;
}

type State = 'idle' | 'connecting' | 'connected' | 'closing';

/** Publishes and subscribes to channels shared by every node of the app. NocoBase-compatible. */
export class PubSubManager {
  private adapter: PubSubAdapter;
  private readonly context: ManagerContext;
  private readonly channels = new Map<string, ChannelState>();
  private state: State = 'idle';
  /** Set synchronously by connect()/close(), so calls made back to back queue in order. */
  private wanted: 'connected' | 'closed' = 'closed';
  private transition: Promise<void> = Promise.resolve();
  /** Bumped by every close() and stopIntake(): a local delivery queued before it must not land after. */
  private epoch = 0;
  /** Deliveries reach handlers; false from `stopIntake()` until the next `connect()`. */
  private intake = true;
  /** Node ids as envelopes carry them (compact; see `wireNodeId`). */
  private readonly nodeIds: NodeIds;
  /** Channel → wire channel name (needed on every publish). */
  private readonly wireNames = new Map<string, string>();

  constructor(options: PubSubManagerOptions = {}) {
    assertOptions('PubSubManager', options, ['adapter', 'context']);
    this.adapter = options.adapter ?? new MemoryPubSubAdapter();
    this.context = options.context ?? standaloneContext();
    this.nodeIds = new NodeIds(this.context.nodeId, this.context.appName);
  }

  /** Replaces the adapter. Refused (`INVALID_STATE`) while connected; allowed again after `close()`. */
  setAdapter(adapter: PubSubAdapter): void {
    if (this.wanted === 'connected' || this.state !== 'idle') {
      throw new ClusterError(ErrorCodes.INVALID_STATE, 'pubSubManager.setAdapter() is not allowed after connect()');
    }
    if (typeof adapter !== 'object' || adapter === null) {
      throw new ClusterError(ErrorCodes.INVALID_ARGUMENT, `adapter must be a PubSubAdapter, got ${describe(adapter)}`);
    }
    this.adapter = adapter;
  }

  /** True between a finished `connect()` and the start of `close()`. */
  isConnected(): boolean {
    return this.state === 'connected';
  }

  /** Connects the adapter and subscribes every channel that has handlers. Calling it again is a no-op. */
  connect(): Promise<void> {
    if (this.wanted === 'connected') return this.transition;
    this.wanted = 'connected';
    this.transition = this.settled().then(async () => {
      this.state = 'connecting';
      try {
        await this.adapter.connect();
        this.intake = true;
        this.state = 'connected';
        await Promise.all([...this.channels.keys()].map((channel) => this.reconcile(channel)));
      } catch (error) {
        this.state = 'idle';
        this.wanted = 'closed';
        await this.adapter.close().catch(() => {});
        for (const channel of this.channels.values()) channel.adapterSubscribed = false;
        throw error;
      }
    });
    return this.transition;
  }

  /**
   * Stops calling handlers at once — messages arriving from now on are dropped, pending debounced
   * calls are cancelled — while publishing keeps working. `app.stop()` calls it right after the
   * plugins' `beforeStop` hooks, so no handler runs while in-flight jobs drain (a job may still
   * publish). The next `connect()` delivers again.
   */
  stopIntake(): void {
    if (!this.intake) return;
    this.intake = false;
    this.epoch += 1;
    this.clearDebounces();
  }

  /**
   * Closes the adapter. Handlers stay registered (a later `connect()` subscribes them again);
   * pending debounced calls are dropped. Calling it again is a no-op.
   */
  close(): Promise<void> {
    if (this.wanted === 'closed') return this.settled();
    this.wanted = 'closed';
    this.transition = this.settled().then(async () => {
      this.state = 'closing';
      this.epoch += 1;
      try {
        this.clearDebounces();
        await Promise.allSettled([...this.channels.values()].map((channel) => channel.queue));
        await this.adapter.close();
      } finally {
        for (const channel of this.channels.values()) channel.adapterSubscribed = false;
        this.state = 'idle';
      }
    });
    return this.transition;
  }

  /**
   * Calls `handler(message, meta)` for every message on `channel`. Subscribing the same handler
   * twice on one channel is one subscription (the latest options apply). Works before `connect()`:
   * the subscription takes effect on connect.
   */
  async subscribe(channel: string, handler: PubSubHandler, options?: PubSubSubscribeOptions): Promise<void> {
    assertName('channel', channel);
    assertFunction('handler', handler);
    const { debounce } = assertOptions('pubSubManager.subscribe', options, SUBSCRIBE_OPTIONS);
    const waitMs = debounce === undefined ? 0 : assertDuration('debounce', debounce, { allowZero: true });
    let state = this.channels.get(channel);
    if (!state) {
      state = { handlers: new Map(), adapterSubscribed: false, queue: Promise.resolve() };
      this.channels.set(channel, state);
    }
    const existing = state.handlers.get(handler);
    if (!existing || (existing.debouncer?.waitMs ?? 0) !== waitMs) {
      existing?.debouncer?.clear();
      state.handlers.set(handler, { handler, debouncer: waitMs > 0 ? new KeyedDebouncer(waitMs) : undefined });
    }
    await this.reconcile(channel);
  }

  /** Removes `handler` from `channel`; the adapter unsubscribes when the channel's last handler goes. */
  async unsubscribe(channel: string, handler: PubSubHandler): Promise<void> {
    assertName('channel', channel);
    assertFunction('handler', handler);
    const state = this.channels.get(channel);
    const sub = state?.handlers.get(handler);
    if (!state || !sub) return;
    sub.debouncer?.clear();
    state.handlers.delete(handler);
    await this.reconcile(channel);
  }

  /**
   * Sends `message` (any JSON value) to the handlers of `channel` on every node of the app —
   * except this one unless `skipSelf: false`; only this one with `onlySelf: true`. Resolves once the
   * adapter has taken the message; delivery is asynchronous and at most once.
   * Rejects `NOT_CONNECTED` before `connect()` and after `close()`.
   */
  async publish(channel: string, message: unknown, options?: PubSubPublishOptions): Promise<void> {
    assertName('channel', channel);
    const opts = assertOptions('pubSubManager.publish', options, PUBLISH_OPTIONS);
    const skipSelf = booleanOption('skipSelf', opts.skipSelf, true);
    const onlySelf = booleanOption('onlySelf', opts.onlySelf, false);
    const messageJson = serializePayload('message', message, this.context.maxPayloadBytes);
    if (this.state !== 'connected') {
      throw new ClusterError(
        ErrorCodes.NOT_CONNECTED,
        `pubSubManager.publish("${channel}"): not connected (call connect()/app.start() first)`,
      );
    }
    const publishedAt = Date.now();
    if (onlySelf || !skipSelf) {
      // This node's handlers never wait for a broker round trip; the copy that comes back over the
      // wire is dropped as "self" like any other.
      const envelope: PubSubEnvelope = {
        v: 1,
        from: this.context.nodeId,
        publishedAt,
        message: JSON.parse(messageJson),
      };
      const epoch = this.epoch;
      setImmediate(() => {
        if (epoch === this.epoch) this.dispatch(channel, envelope, envelope.from);
      });
    }
    if (diagnostics.pubSubMessage.hasSubscribers) {
      diagnostics.pubSubMessage.publish({ app: this.context.appName, channel, direction: 'out' });
    }
    if (onlySelf) return;
    await this.adapter.publish(this.wireChannel(channel), encodeEnvelope(this.nodeIds.own, messageJson, publishedAt));
  }

  private clearDebounces(): void {
    for (const channel of this.channels.values()) {
      for (const sub of channel.handlers.values()) sub.debouncer?.clear();
    }
  }

  /** The last transition, finished either way: a failed connect() must not block the next call. */
  private settled(): Promise<void> {
    return this.transition.catch(() => {});
  }

  private wireChannel(channel: string): string {
    let name = this.wireNames.get(channel);
    if (name === undefined) {
      if (this.wireNames.size >= MEMO_LIMIT) this.wireNames.clear();
      name = appScopedName(this.context.appName, channel);
      this.wireNames.set(channel, name);
    }
    return name;
  }

  /** Brings the adapter's subscription for `channel` in line with its handlers and the connection state. */
  private reconcile(channel: string): Promise<void> {
    const state = this.channels.get(channel);
    if (!state) return Promise.resolve();
    const run = state.queue.then(async () => {
      const wanted = this.state === 'connected' && state.handlers.size > 0;
      if (wanted && !state.adapterSubscribed) {
        await this.adapter.subscribe(this.wireChannel(channel), (payload) => this.receive(channel, payload));
        state.adapterSubscribed = true;
      } else if (!wanted && state.adapterSubscribed && this.state === 'connected') {
        await this.adapter.unsubscribe(this.wireChannel(channel));
        state.adapterSubscribed = false;
      }
      if (state.handlers.size === 0 && !state.adapterSubscribed && this.channels.get(channel) === state) {
        this.channels.delete(channel);
      }
    });
    // The queue must keep going after a failed call; the caller still sees the failure.
    state.queue = run.catch(() => {});
    return run;
  }

  /** Entry point for every payload the adapter delivers. Never throws. */
  private receive(channel: string, payload: string): void {
    if (this.state !== 'connected' || !this.intake) return;
    const decoded = decodeEnvelope(payload);
    if (!decoded.ok) {
      this.context.logger.warn('pub/sub: dropped a malformed message', {
        code: ErrorCodes.MALFORMED_MESSAGE,
        channel,
        reason: decoded.reason,
      });
      return;
    }
    // "Self" copies are handled locally at publish time (or skipped), never from the wire.
    const from = decoded.envelope.from;
    if (this.nodeIds.isSelf(from)) return;
    this.dispatch(channel, decoded.envelope, this.nodeIds.of(from));
  }

  /** Calls every handler of `channel` (debounced ones through their debouncer); `from`: the node id. */
  private dispatch(channel: string, envelope: PubSubEnvelope, from: string): void {
    if (this.state !== 'connected' || !this.intake) return;
    const state = this.channels.get(channel);
    if (!state) return;
    const meta: PubSubMessageMeta = { channel, from, publishedAt: envelope.publishedAt };
    if (diagnostics.pubSubMessage.hasSubscribers) {
      diagnostics.pubSubMessage.publish({ app: this.context.appName, channel, direction: 'in' });
    }
    let key: string | undefined;
    for (const sub of [...state.handlers.values()]) {
      if (sub.debouncer) {
        key ??= JSON.stringify(envelope.message);
        sub.debouncer.schedule(key, () => this.invoke(sub, envelope.message, meta));
      } else {
        this.invoke(sub, envelope.message, meta);
      }
    }
  }

  private invoke(sub: Subscription, message: unknown, meta: PubSubMessageMeta): void {
    const report = (error: unknown) =>
      this.context.reportError(error, { source: 'pubSubManager', channel: meta.channel, from: meta.from });
    try {
      const result = sub.handler(message, meta);
      if (isPromiseLike(result)) Promise.resolve(result).catch(report);
    } catch (error) {
      report(error);
    }
  }
}

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function';
}
