/**
 * One subscriber connection per node, shared by pub/sub channels and lock-release notifications.
 * Listeners are refcounted per channel: Redis sees one SUBSCRIBE per channel however many local
 * listeners there are. ioredis re-subscribes every channel after a reconnect (`autoResubscribe`).
 */
import type { RedisClient } from './connection.js';
import { closeClient, connectClient, guard } from './connection.js';

interface ChannelState {
  readonly listeners: Set<(message: string) => void>;
  /** Settles once Redis has confirmed the SUBSCRIBE. */
  ready: Promise<void>;
}

/** The node's shared subscriber connection. */
export class RedisSubscriber {
  private client?: RedisClient;
  private opening?: Promise<RedisClient>;
  private readonly channels = new Map<string, ChannelState>();

  constructor(
    private readonly create: () => RedisClient,
    private readonly connectTimeoutMs: number,
  ) {}

  /**
   * Calls `listener` for every message on `channel`; resolves once the subscription is active.
   * Returns the function that removes this listener (and unsubscribes after the last one).
   */
  async listen(channel: string, listener: (message: string) => void): Promise<() => Promise<void>> {
    const client = await this.connection();
    let state = this.channels.get(channel);
    const own = (message: string) => listener(message);
    if (!state) {
      const created: ChannelState = { listeners: new Set([own]), ready: Promise.resolve() };
      created.ready = guard('SUBSCRIBE', () => client.subscribe(channel)).then(
        () => undefined,
        (error: unknown) => {
          if (this.channels.get(channel) === created) this.channels.delete(channel);
          throw error;
        },
      );
      state = created;
      this.channels.set(channel, state);
    } else {
      state.listeners.add(own);
    }
    await state.ready;
    const current = state;
    let removed = false;
    return async () => {
      if (removed) return;
      removed = true;
      current.listeners.delete(own);
      if (current.listeners.size === 0 && this.channels.get(channel) === current) {
        this.channels.delete(channel);
        if (this.client?.status === 'ready') await guard('UNSUBSCRIBE', () => client.unsubscribe(channel));
      }
    };
  }

  /** Closes the connection and forgets every listener. */
  async close(): Promise<void> {
    this.channels.clear();
    const client = this.client ?? (await this.opening?.catch(() => undefined));
    this.client = undefined;
    this.opening = undefined;
    if (client) await closeClient(client);
  }

  private connection(): Promise<RedisClient> {
    this.opening ??= (async () => {
      const client = this.create();
      client.on('error', () => {});
      client.on('message', (channel: string, message: string) => this.dispatch(channel, message));
      try {
        await connectClient(client, this.connectTimeoutMs, 'subscriber');
      } catch (error) {
        this.opening = undefined;
        throw error;
      }
      this.client = client;
      return client;
    })();
    return this.opening;
  }

  private dispatch(channel: string, message: string): void {
    const state = this.channels.get(channel);
    if (!state) return;
    for (const listener of [...state.listeners]) {
      try {
        listener(message);
      } catch {
        // A listener's failure is its owner's concern (managers report their own); others still run.
      }
    }
  }
}
