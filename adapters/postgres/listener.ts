/**
 * The node's one LISTEN connection: a dedicated `pg.Client` (LISTEN is per session, so it cannot
 * come from a pool) that listens on the schema's channels and hands each notification to the
 * handlers registered for its channel. When the connection drops it reconnects with backoff
 * (100 ms doubling to 2 s), LISTENs again, and tells the `onReconnect` hooks, since
 * notifications sent while it was away are lost (consumers then look for work themselves).
 */
import pg from 'pg';

type Handler = (payload: string) => void;

const RECONNECT_MIN_MS = 100;
const RECONNECT_MAX_MS = 2_000;

/** A self-healing LISTEN session. */
export class PgListener {
  private client: pg.Client | undefined;
  private readonly handlers = new Map<string, Set<Handler>>();
  private readonly reconnectHooks = new Set<() => void>();
  private channels: readonly string[] = [];
  private closed = false;
  private timer: NodeJS.Timeout | undefined;
  private backoffMs = RECONNECT_MIN_MS;
  private connectTimeoutMs = 10_000;
  private connecting: Promise<void> | undefined;

  constructor(
    private readonly config: pg.ClientConfig,
    private readonly onError: (error: unknown, meta: Record<string, unknown>) => void,
  ) {}

  /** True while a session is listening. */
  get listening(): boolean {
    return this.client !== undefined;
  }

  /** Connects and LISTENs on `channels`; rejects if the first connection fails. */
  async start(channels: readonly string[], connectTimeoutMs: number): Promise<void> {
    this.channels = channels;
    this.connectTimeoutMs = connectTimeoutMs;
    await this.connect();
  }

  /** Calls `handler` with every payload notified on `channel`. Returns the unsubscribe function. */
  on(channel: string, handler: Handler): () => void {
    let set = this.handlers.get(channel);
    if (!set) {
      set = new Set();
      this.handlers.set(channel, set);
    }
    // Wrapped so the same function registered twice is two registrations.
    const entry: Handler = (payload) => handler(payload);
    set.add(entry);
    return () => {
      set.delete(entry);
    };
  }

  /** Calls `hook` after every reconnect (not after the first connect). Returns the remover. */
  onReconnect(hook: () => void): () => void {
    const entry = () => hook();
    this.reconnectHooks.add(entry);
    return () => {
      this.reconnectHooks.delete(entry);
    };
  }

  /** Stops listening and closes the session (bounded). */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    await this.connecting?.catch(() => {});
    const client = this.client;
    this.client = undefined;
    if (client) {
      await Promise.race([client.end().catch(() => {}), new Promise((r) => setTimeout(r, 2_000).unref())]);
    }
  }

  private connect(): Promise<void> {
    this.connecting = this.doConnect().finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  private async doConnect(): Promise<void> {
    const client = new pg.Client({ ...this.config, connectionTimeoutMillis: this.connectTimeoutMs });
    client.on('error', (error) => this.lost(client, error));
    client.on('end', () => this.lost(client, new Error('LISTEN connection ended')));
    client.on('notification', (message) => this.dispatch(message.channel, message.payload ?? ''));
    try {
      await client.connect();
      for (const channel of this.channels) await client.query(`LISTEN ${channel}`);
    } catch (error) {
      client.removeAllListeners('end');
      client.on('error', () => {});
      await client.end().catch(() => {});
      throw error;
    }
    if (this.closed) {
      await client.end().catch(() => {});
      return;
    }
    this.client = client;
    this.backoffMs = RECONNECT_MIN_MS;
  }

  private dispatch(channel: string, payload: string): void {
    const set = this.handlers.get(channel);
    if (!set) return;
    for (const handler of [...set]) {
      try {
        handler(payload);
      } catch (error) {
        this.onError(error, { source: 'notification handler', channel });
      }
    }
  }

  private lost(client: pg.Client, error: unknown): void {
    if (this.client !== client) return;
    this.client = undefined;
    client.removeAllListeners('notification');
    client.on('error', () => {});
    void client.end().catch(() => {});
    if (this.closed) return;
    this.onError(error, { source: 'LISTEN connection' });
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.closed) return;
    clearTimeout(this.timer);
    const wait = this.backoffMs;
    this.backoffMs = Math.min(this.backoffMs * 2, RECONNECT_MAX_MS);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.connect().then(
        () => {
          if (this.closed || !this.client) return;
          for (const hook of [...this.reconnectHooks]) hook();
        },
        () => this.scheduleReconnect(),
      );
    }, wait);
    this.timer.unref();
  }
}
