/**
 * One AMQP connection shared by the adapters of one `createRabbitMQAdapters()` call, opened on the
 * first `acquire()` (so factories connect nothing before `app.start()`) and closed on the last
 * `release()`.
 *
 * Reconnecting is amqplib's opt-in recovery (exponential backoff with jitter). That recovery only
 * replaces the connection: channels, consumers and declarations made on the old one are gone. So
 * this class tells its users about every (re)connect through {@link RabbitMQConnection.onConnect},
 * and they rebuild their channels, topology and consumers there.
 */
import amqp, { type Channel, type ChannelModel, type ConfirmChannel, type RecoveringChannelModel } from 'amqplib';
import { ClusterError, isClusterError, ErrorCodes, type Logger } from 'clusterkit/adapter-kit';
import { LinkGuard, trackClose } from './link-guard.js';
import { batchWrites } from './write-batching.js';

/**
 * Longest TCP connect + AMQP handshake of one (re)connect attempt, in ms: a reconnect against a
 * frozen link must fail and retry (or be dropped by a stop), not hold its socket open for ever.
 */
const CONNECT_TIMEOUT_MS = 10_000;

/** Reconnect settings of {@link RabbitMQConnection}. */
export interface RabbitMQConnectionOptions {
  /** `amqp://` or `amqps://` URL. */
  readonly url: string;
  /** First reconnect delay, in ms. @default 100 */
  readonly reconnectInitialDelayMs?: number;
  /** Longest reconnect delay, in ms. @default 5000 */
  readonly reconnectMaxDelayMs?: number;
  /** Failed attempts before the first `connect()` gives up with `BACKEND_UNAVAILABLE`. @default 3 */
  readonly initialConnectRetries?: number;
  /** How long an operation waits for a lost connection to come back before it rejects, in ms. @default 10000 */
  readonly unavailableTimeoutMs?: number;
  /** AMQP heartbeat, in seconds (the protocol's unit). @default 10 */
  readonly heartbeatSeconds?: number;
  /** Shown in `rabbitmqctl list_connections client_properties` and the management UI. @default 'clusterkit' */
  readonly connectionName?: string;
  readonly logger: Logger;
}

type ConnectListener = (model: ChannelModel) => void;

/** A refcounted, self-recovering AMQP connection. */
export class RabbitMQConnection {
  private refs = 0;
  private recovering: RecoveringChannelModel | undefined;
  private live: ChannelModel | undefined;
  private opening: Promise<void> | undefined;
  private readonly listeners = new Set<ConnectListener>();
  private waiters: { resolve: (m: ChannelModel) => void; reject: (e: Error) => void }[] = [];
  /** Bumped on every (re)connect so users can tell a channel of an old connection from a live one. */
  generation = 0;
  readonly unavailableTimeoutMs: number;
  /** Bounds every wait of a stop path on this connection (see link-guard.ts). */
  readonly guard = new LinkGuard();

  constructor(private readonly options: RabbitMQConnectionOptions) {
    this.unavailableTimeoutMs = options.unavailableTimeoutMs ?? 10_000;
  }

  /** The logger given to the adapters. */
  get logger(): Logger {
    return this.options.logger;
  }

  /** True while a connection is open (not during an outage). */
  get connected(): boolean {
    return this.live !== undefined;
  }

  /** Takes a reference; the first one opens the connection (rejecting with `BACKEND_UNAVAILABLE` if it cannot). */
  async acquire(): Promise<void> {
    this.refs += 1;
    try {
      this.opening ??= this.open();
      await this.opening;
    } catch (error) {
      // A release() during the open already gave the reference back.
      if (this.refs > 0) this.refs -= 1;
      this.opening = undefined;
      throw error;
    }
  }

  /**
   * Drops a reference; the last one closes the connection, bounded: it settles on CloseOk, on the
   * connection closing for any other reason, or after the stop-step deadline, when the socket is
   * destroyed (see link-guard.ts).
   */
  async release(): Promise<void> {
    if (this.refs === 0) return;
    this.refs -= 1;
    if (this.refs > 0) return;
    const recovering = this.recovering;
    const live = this.live;
    this.recovering = undefined;
    this.live = undefined;
    this.opening = undefined;
    this.failWaiters(new ClusterError(ErrorCodes.NOT_CONNECTED, 'RabbitMQ connection closed'));
    if (recovering) await this.guard.closeConnection(live, () => recovering.close().catch(() => {}));
  }

  /** Calls `listener` after every (re)connect from now on; returns the unregister function. */
  onConnect(listener: ConnectListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * The open connection, waiting for recovery during an outage for at most `timeoutMs`; rejects with
   * `BACKEND_UNAVAILABLE` when it does not come back in time, `NOT_CONNECTED` when closed.
   */
  async model(timeoutMs = this.unavailableTimeoutMs): Promise<ChannelModel> {
    if (this.live) return this.live;
    if (!this.recovering) throw new ClusterError(ErrorCodes.NOT_CONNECTED, 'RabbitMQ adapter is not connected');
    return new Promise<ChannelModel>((resolve, reject) => {
      const waiter = {
        resolve: (m: ChannelModel) => {
          clearTimeout(timer);
          resolve(m);
        },
        reject: (e: Error) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(
          new ClusterError(
            ErrorCodes.BACKEND_UNAVAILABLE,
            `RabbitMQ connection did not recover within ${timeoutMs} ms`,
            { details: { timeoutMs } },
          ),
        );
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }

  /**
   * Runs `fn`, trying again while the failure is the connection or channel going away (no AMQP
   * reply code) and the outage bound has not passed. Broker refusals (404, 403, 406, ...) and the
   * last transient failure are rethrown as `BACKEND_UNAVAILABLE` with the cause attached.
   */
  async retrying<T>(what: string, fn: () => Promise<T>): Promise<T> {
    const deadline = Date.now() + this.unavailableTimeoutMs;
    for (let tries = 1; ; tries++) {
      try {
        return await fn();
      } catch (error) {
        if (isClusterError(error)) throw error;
        const code = (error as { code?: unknown }).code;
        const transient = typeof code !== 'number';
        if (!transient || Date.now() >= deadline) {
          throw new ClusterError(
            ErrorCodes.BACKEND_UNAVAILABLE,
            `RabbitMQ ${what} failed: ${(error as Error).message}`,
            {
              cause: error,
              details: { amqpCode: code },
            },
          );
        }
        await new Promise((resolve) => setTimeout(resolve, Math.min(50 * tries, 500)));
      }
    }
  }

  /** A new plain channel on the open connection; `onClose` runs if it closes on its own. */
  async channel(onClose?: (error?: Error) => void): Promise<Channel> {
    return this.watch(await (await this.model()).createChannel(), onClose);
  }

  /** A new confirm channel on the open connection; `onClose` runs if it closes on its own. */
  async confirmChannel(onClose?: (error?: Error) => void): Promise<ConfirmChannel> {
    return this.watch(await (await this.model()).createConfirmChannel(), onClose);
  }

  /**
   * `onClose` gets the error the broker closed the channel with; none when the channel closed
   * because we closed it or because the connection went (amqplib then closes every channel
   * without an error, before the connection's own 'close').
   */
  private watch<C extends Channel>(channel: C, onClose?: (error?: Error) => void): C {
    let lastError: Error | undefined;
    // Without an 'error' listener a channel error would be thrown as an uncaught exception.
    channel.on('error', (error: Error) => {
      lastError = error;
    });
    trackClose(channel);
    channel.on('close', () => onClose?.(lastError));
    return channel;
  }

  private async open(): Promise<void> {
    const o = this.options;
    let recovering: RecoveringChannelModel;
    try {
      recovering = await amqp.connect(withHeartbeat(o.url, o.heartbeatSeconds ?? 10), {
        timeout: CONNECT_TIMEOUT_MS,
        clientProperties: { connection_name: o.connectionName ?? 'clusterkit' },
        recovery: {
          initialDelay: o.reconnectInitialDelayMs ?? 100,
          maxDelay: o.reconnectMaxDelayMs ?? 5_000,
          initialMaxRetries: o.initialConnectRetries ?? 3,
          maxRetries: Infinity,
          waitForConnect: false,
        },
      });
      this.bind(recovering);
      await recovering.waitForConnect();
    } catch (error) {
      throw new ClusterError(
        ErrorCodes.BACKEND_UNAVAILABLE,
        `cannot connect to RabbitMQ at ${redact(o.url)}: ${(error as Error).message}`,
        { cause: error },
      );
    }
    if (this.refs === 0) {
      const live = this.live;
      this.recovering = undefined;
      this.live = undefined;
      await this.guard.closeConnection(live, () => recovering.close().catch(() => {}));
      throw new ClusterError(ErrorCodes.NOT_CONNECTED, 'RabbitMQ connection released while opening');
    }
  }

  private bind(recovering: RecoveringChannelModel): void {
    this.recovering = recovering;
    recovering.on('connect', (model: ChannelModel) => {
      if (this.recovering !== recovering) return;
      trackClose(model);
      batchWrites(model);
      this.guard.reset();
      this.live = model;
      this.generation += 1;
      if (this.generation > 1) this.logger.info('RabbitMQ connection recovered', { generation: this.generation });
      const waiters = this.waiters.splice(0);
      for (const w of waiters) w.resolve(model);
      for (const listener of [...this.listeners]) {
        try {
          listener(model);
        } catch (error) {
          this.logger.error('RabbitMQ reconnect listener failed', { error });
        }
      }
    });
    recovering.on('disconnect', (error: Error) => {
      if (this.recovering !== recovering) return;
      this.live = undefined;
      this.logger.warn(`RabbitMQ connection lost, reconnecting: ${error.message}`, { error });
    });
    recovering.on('reconnect-failed', (error: Error) => {
      this.live = undefined;
      this.failWaiters(new ClusterError(ErrorCodes.BACKEND_UNAVAILABLE, `RabbitMQ recovery gave up: ${error.message}`));
    });
    recovering.on('blocked', (reason: string) => this.logger.warn(`RabbitMQ blocked the connection: ${reason}`));
    recovering.on('error', (error: Error) => this.logger.debug(`RabbitMQ connection error: ${error.message}`));
  }

  private failWaiters(error: Error): void {
    for (const w of this.waiters.splice(0)) w.reject(error);
  }
}

/** Adds `heartbeat` to the URL unless it already sets one (amqplib reads it from the URL). */
function withHeartbeat(url: string, seconds: number): string {
  try {
    const u = new URL(url);
    if (!u.searchParams.has('heartbeat')) u.searchParams.set('heartbeat', String(seconds));
    return u.toString();
  } catch {
    return url;
  }
}

/** The URL without its password, for error messages and logs. */
export function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '<invalid url>';
  }
}
