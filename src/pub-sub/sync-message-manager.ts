/**
 * Sync messages (`app.syncMessageManager`), as in NocoBase: a node tells the *other* nodes of the
 * app that something changed (a plugin's settings, a cached collection) so they refresh their
 * in-memory state. It rides the pub/sub manager on the channel `sync:<channel>`, with
 * `skipSelf`, and can wait for a database transaction to commit before sending.
 */
import { standaloneContext, type ManagerContext } from '../context.js';
import { ClusterError, ErrorCodes } from '../errors.js';
import { assertFunction, assertName, assertOptions, describe, serializePayload } from '../validation.js';
import { PubSubManager, type PubSubHandler, type PubSubSubscribeOptions } from './pub-sub-manager.js';

/**
 * Anything with an `afterCommit` hook, such as a Sequelize transaction. The callback runs once the
 * transaction commits and never when it rolls back.
 */
export interface Transaction {
  afterCommit(callback: () => unknown): unknown;
}

/** Options of {@link SyncMessageManager.publish}. */
export interface SyncMessagePublishOptions {
  /** Send only after this transaction commits (never if it rolls back). @default send now */
  transaction?: Transaction;
}

/** Options of the {@link SyncMessageManager} constructor. */
export interface SyncMessageManagerOptions {
  /** The pub/sub manager to ride. @default a standalone {@link PubSubManager} (memory) */
  pubSubManager?: PubSubManager;
  /** @default {@link standaloneContext}() */
  context?: ManagerContext;
}

/** Prefix of the pub/sub channels carrying sync messages (inside the app-name namespace). */
export const SYNC_CHANNEL_PREFIX = 'sync:';

const PUBLISH_OPTIONS = ['transaction'] as const;

/** Sends messages to the same channel's handlers on the other nodes. NocoBase-compatible. */
export class SyncMessageManager {
  readonly pubSubManager: PubSubManager;
  private readonly context: ManagerContext;
  private connected = false;

  constructor(options: SyncMessageManagerOptions = {}) {
    assertOptions('SyncMessageManager', options, ['pubSubManager', 'context']);
    this.context = options.context ?? standaloneContext();
    this.pubSubManager = options.pubSubManager ?? new PubSubManager({ context: this.context });
  }

  /**
   * Marks the manager connected. It opens nothing itself: it rides the pub/sub manager, which the
   * app connects first (a standalone caller connects both).
   */
  async connect(): Promise<void> {
    this.connected = true;
  }

  /** Marks the manager closed: later publishes reject, transactions committing later send nothing. */
  async close(): Promise<void> {
    this.connected = false;
  }

  /** True between `connect()` and `close()`. */
  isConnected(): boolean {
    return this.connected;
  }

  /**
   * Calls `handler(message)` for every sync message other nodes send on `channel`. Works before
   * connect. `debounce` (ms, default 0 = off) merges identical messages as in pub/sub; NocoBase
   * debounces sync handlers by 1000 ms by default, clusterkit delivers every message unless asked.
   */
  async subscribe(channel: string, handler: PubSubHandler, options?: PubSubSubscribeOptions): Promise<void> {
    assertName('channel', channel);
    assertFunction('handler', handler);
    await this.pubSubManager.subscribe(SYNC_CHANNEL_PREFIX + channel, handler, options);
  }

  /** Removes a handler added with {@link subscribe}. */
  async unsubscribe(channel: string, handler: PubSubHandler): Promise<void> {
    assertName('channel', channel);
    assertFunction('handler', handler);
    await this.pubSubManager.unsubscribe(SYNC_CHANNEL_PREFIX + channel, handler);
  }

  /**
   * Sends `message` to the handlers of `channel` on every other node (never this one). With a
   * `transaction`, the message is checked and copied now, and sent from its `afterCommit` hook —
   * the promise then resolves at once, so it can be awaited before the commit; a failure at send
   * time goes to the app's `error` event. Rejects `NOT_CONNECTED` before `connect()`/after `close()`.
   */
  async publish(channel: string, message: unknown, options?: SyncMessagePublishOptions): Promise<void> {
    assertName('channel', channel);
    const { transaction } = assertOptions('syncMessageManager.publish', options, PUBLISH_OPTIONS);
    if (transaction !== undefined && !isTransaction(transaction)) {
      throw new ClusterError(
        ErrorCodes.INVALID_OPTION,
        `transaction must have an afterCommit(callback) method, got ${describe(transaction)}`,
        { details: { option: 'transaction' } },
      );
    }
    const messageJson = serializePayload('message', message, this.context.maxPayloadBytes);
    this.assertConnected(channel);
    const send = () =>
      this.pubSubManager.publish(SYNC_CHANNEL_PREFIX + channel, JSON.parse(messageJson), { skipSelf: true });
    if (!transaction) return send();
    // A snapshot taken now: the caller may mutate `message` before the commit.
    transaction.afterCommit(async () => {
      try {
        this.assertConnected(channel);
        await send();
      } catch (error) {
        this.context.reportError(error, { source: 'syncMessageManager', channel, afterCommit: true });
      }
    });
  }

  private assertConnected(channel: string): void {
    if (!this.connected) {
      throw new ClusterError(
        ErrorCodes.NOT_CONNECTED,
        `syncMessageManager.publish("${channel}"): not connected (call connect()/app.start() first)`,
      );
    }
  }
}

function isTransaction(value: unknown): value is Transaction {
  return typeof value === 'object' && value !== null && typeof (value as Transaction).afterCommit === 'function';
}
